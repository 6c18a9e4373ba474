-- Identity resolution output: which person every source record belongs to, kept stable across runs.
-- Written by lintas.identity.linkage (Python + Splink), read by dbt marts as a source.
create schema if not exists identity;

create sequence if not exists identity.person_id_seq;

create table if not exists identity.link_run (
    link_run_id       bigserial primary key,
    airflow_run_id    text,
    model_version     text not null,
    match_threshold   numeric not null,        -- pairs at or above this probability are linked
    review_threshold  numeric not null,        -- pairs between this and match_threshold go to review
    records           integer,
    persons           integer,
    linked_pairs      integer,
    review_pairs      integer,
    seconds           numeric,
    started_at        timestamptz not null default now(),
    finished_at       timestamptz
);

-- the current link of every source record (one row per record)
create table if not exists identity.person_record (
    record_key        text primary key,
    source            text not null,
    person_id         bigint not null,
    match_method      text not null check (match_method in ('nik', 'probabilistic', 'nik+probabilistic', 'single')),
    match_probability numeric,                 -- best linking pair of the record (null for 'nik' and 'single')
    link_run_id       bigint not null references identity.link_run (link_run_id),
    linked_at         timestamptz not null default now()
);
create index if not exists person_record_person on identity.person_record (person_id);

-- merges and splits of persons between runs, so an id that disappears can be followed
create table if not exists identity.person_event (
    person_event_id   bigserial primary key,
    link_run_id       bigint not null references identity.link_run (link_run_id),
    event             text not null check (event in ('merge', 'split')),
    person_id         bigint not null,         -- the surviving (merge) or original (split) person
    other_person_ids  bigint[] not null,       -- merged into person_id, or split off from it
    recorded_at       timestamptz not null default now()
);

-- uncertain pairs for analysts to confirm or reject
create table if not exists identity.review_pair (
    link_run_id       bigint not null references identity.link_run (link_run_id),
    record_key_l      text not null,
    record_key_r      text not null,
    match_probability numeric not null,
    primary key (link_run_id, record_key_l, record_key_r)
);
