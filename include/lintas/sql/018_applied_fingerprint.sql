-- Fingerprints (hashes only) of what was last applied, so fixed costs are paid only when something changed:
-- 'access_base' and 'access_published' are the access rules `warehouse prepare` applied (lintas.access.apply,
-- and publish for the published marts); a prepare whose fingerprints match skips re-applying them.
create table if not exists audit.applied_fingerprint (
    what         text primary key,
    fingerprint  text not null,
    applied_at   timestamptz not null default now()
);

-- What each build read (accepted batches, the dbt project, review decisions, linkage rules), as one hash: a build
-- started while nothing changed since the last *published* build's inputs ends at once (lintas.pipeline.build_needed).
create table if not exists audit.build_input (
    airflow_run_id  text primary key,
    airflow_dag_id  text,
    fingerprint     text not null,
    recorded_at     timestamptz not null default now()
);
