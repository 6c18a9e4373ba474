-- Raw layer, load audit trail and quarantine. Raw tables keep every source column as text;
-- lineage is the batch id (-> audit.load_batch: source file, checksum, Airflow run) plus row number.
create schema if not exists raw;
create schema if not exists quarantine;

create table if not exists audit.load_batch (
    batch_id          bigserial primary key,
    source            text not null,          -- e.g. dinsos_dtks
    source_ref        text not null,          -- file name, API page range or query
    checksum          text not null,          -- sha256 of the delivered bytes
    period            text,                   -- YYYY-MM for snapshot sources
    status            text not null check (status in ('loaded', 'accepted', 'rejected')),
    rows_extracted    integer not null default 0,
    rows_loaded       integer not null default 0,
    rows_quarantined  integer not null default 0,
    extra_columns     text[] not null default '{}',
    rejection_reason  text,
    airflow_dag_id    text,
    airflow_run_id    text,
    loaded_at         timestamptz not null default now(),
    gated_at          timestamptz,
    -- the same delivery is loaded once, whatever re-runs or re-deliveries happen
    unique (source, checksum),
    -- counts reconcile: nothing read is lost
    check (status = 'rejected' or rows_extracted = rows_loaded + rows_quarantined)
);

create table if not exists audit.gate_result (
    gate_result_id    bigserial primary key,
    batch_id          bigint references audit.load_batch (batch_id),
    suite             text not null,
    expectation       text not null,          -- expectation type
    column_name       text,
    severity          text not null check (severity in ('critical', 'warning')),
    success           boolean not null,
    element_count     bigint,
    unexpected_count  bigint,
    unexpected_percent numeric,
    observed_value    text,                   -- aggregate only (counts, rates): never a row value
    airflow_run_id    text,
    validated_at      timestamptz not null default now()
);

create table if not exists quarantine.row_error (
    row_error_id      bigserial primary key,
    batch_id          bigint not null references audit.load_batch (batch_id),
    source            text not null,
    row_number        integer not null,       -- 1-based line/row in the delivered file, header = 1
    field             text not null,
    rule              text not null,
    reason            text not null,          -- names the rule and field, never the value
    raw_record        text,                   -- the offending row as delivered (PII: warehouse-only)
    quarantined_at    timestamptz not null default now()
);

create table if not exists raw.dinsos_dtks (
    iddtks            text,
    no_kk             text,
    nik               text,
    nama              text,
    jenis_kelamin     text,
    tempat_lahir      text,
    tanggal_lahir     text,
    hubungan_keluarga text,
    nama_ibu_kandung  text,
    alamat            text,
    rt                text,
    rw                text,
    kelurahan         text,
    kecamatan         text,
    desil             text,
    pkh               text,
    bpnt              text,
    pbi_jk            text,
    periode           text,
    _extra            jsonb,                  -- unknown extra columns, kept as delivered
    _batch_id         bigint not null references audit.load_batch (batch_id),
    _row_number       integer not null,
    _loaded_at        timestamptz not null default now(),
    primary key (_batch_id, _row_number)
);
