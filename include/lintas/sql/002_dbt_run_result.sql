-- Every dbt node result of every warehouse build, for the audit trail (linked by Airflow run id).
create table if not exists audit.dbt_run_result (
    dbt_run_result_id bigserial primary key,
    invocation_id     text not null,
    airflow_dag_id    text,
    airflow_run_id    text,
    unique_id         text not null,          -- e.g. model.lintas.mart_dtks_kelurahan_summary
    resource_type     text not null,          -- model, test, seed, snapshot
    status            text not null,          -- success, pass, fail, error, warn, skipped
    execution_time    numeric,
    rows_affected     bigint,
    failures          integer,
    recorded_at       timestamptz not null default now()
);
