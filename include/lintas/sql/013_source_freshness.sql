-- dbt source freshness of every raw source, checked by each warehouse build: when did each agency last give us
-- accepted data, against the contract's expected cadence (thresholds in the dbt sources' YAML).
create table if not exists audit.source_freshness (
    source_freshness_id bigserial primary key,
    airflow_dag_id      text,
    airflow_run_id      text,
    source              text not null,          -- audit source name, e.g. dinsos_dtks
    status              text not null,          -- pass, warn, error, runtime error, no data
    max_loaded_at       timestamptz,            -- newest accepted delivery
    age_seconds         numeric,
    warn_after          text,                   -- e.g. "35 day"
    error_after         text,
    checked_at          timestamptz not null default now()
);
create index if not exists source_freshness_checked_idx on audit.source_freshness (source, checked_at desc);
