-- Retention (lintas.privacy.retention): raw rows and the personal contents of quarantined rows are removed when
-- their rule says so, but every audit row stays with its counts, so reconciliation (extracted = loaded +
-- quarantined + duplicate) and the run report still add up. These columns say what was removed, and when.
alter table audit.load_batch add column if not exists purged_at timestamptz;            -- last purge of its raw rows
alter table audit.load_batch add column if not exists rows_purged integer not null default 0;  -- raw rows removed
alter table audit.load_batch add constraint load_batch_purge_within_loaded
    check (rows_purged between 0 and rows_loaded);

-- raw_record (the row as delivered, personal data) is set to null; field, rule, reason and row number stay
alter table quarantine.row_error add column if not exists purged_at timestamptz;

-- one row per retention run: counts only, never row values
create table if not exists audit.retention_run (
    retention_run_id       bigserial primary key,
    airflow_dag_id         text,
    airflow_run_id         text,
    rules                  jsonb not null,         -- the rules applied (lintas.privacy.retention.RetentionRules)
    raw_rows_purged        bigint not null default 0,
    batches_touched        integer not null default 0,
    quarantine_rows_purged bigint not null default 0,
    snapshot_rows_purged   bigint not null default 0,
    per_source             jsonb not null default '{}',  -- source -> raw rows removed
    started_at             timestamptz not null default now(),
    finished_at            timestamptz
);

-- Data-subject access requests served (`lintas subject`): who ran one and how much was found, for accountability.
-- Never whom it was about: no NIK, no name, no person id.
create table if not exists audit.subject_request (
    subject_request_id bigserial primary key,
    operator           text not null,
    persons            integer not null,
    relations          integer not null,
    row_count          bigint not null,
    requested_at       timestamptz not null default now()
);
