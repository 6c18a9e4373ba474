-- Write-audit-publish of the marts: dbt builds them into a build schema, the mart gate checks them, and a
-- publish swaps the build schema into `marts` in one transaction. Every attempt is recorded here, also the
-- ones the gate or a dbt test stopped (outcome 'held_back'), so auditors see what analysts were spared.
create table if not exists audit.publish_event (
    publish_event_id  bigserial primary key,
    airflow_dag_id    text,
    airflow_run_id    text,
    published_at      timestamptz not null default now(),
    outcome           text not null check (outcome in ('published', 'held_back')),
    -- table name -> row count (published), or the failed checks' names (held back): never row values
    tables            jsonb not null default '{}',
    row_count         bigint,                 -- rows over all published tables
    swap_seconds      numeric,                -- how long the schema swap held its locks
    reason            text                    -- why it was held back: names of failed checks, counts only
);
create index if not exists publish_event_run on audit.publish_event (airflow_dag_id, airflow_run_id);

-- What a check expected, where that is a bound (e.g. a row count relative to the previous accepted batch),
-- and a reviewer's description (custom SQL checks have no column to name them by).
alter table audit.gate_result add column if not exists expected text;
alter table audit.gate_result add column if not exists description text;
