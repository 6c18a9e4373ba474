-- Clerical review: a reviewer's decision on a pair of records the model was unsure about. Keyed by the records'
-- stable keys (not by link run), so a decision outlives re-runs and model changes; append-only, the latest
-- decision on a pair is the one in force (lintas.identity.constraints): 'match' joins the two records' persons,
-- 'non_match' keeps them apart (splitting a person if other links joined them), 'unsure' constrains nothing.
create table if not exists identity.review_decision (
    review_decision_id  bigserial primary key,
    record_key_l        text not null,
    record_key_r        text not null,
    decision            text not null check (decision in ('match', 'non_match', 'unsure')),
    reviewer            text not null,           -- the Airflow login that decided
    reason              text not null check (length(trim(reason)) > 0),
    match_probability   numeric,                 -- what the reviewer was shown
    link_run_id         bigint references identity.link_run (link_run_id),
    decided_at          timestamptz not null default clock_timestamp(),
    check (record_key_l < record_key_r)
);
create index if not exists review_decision_pair on identity.review_decision (record_key_l, record_key_r, decided_at);

-- a merge or split that a reviewer's decision caused names the decisions
alter table identity.person_event add column if not exists review_decision_ids bigint[];

-- a record linked only by a reviewer's 'match' decision
alter table identity.person_record drop constraint if exists person_record_match_method_check;
alter table identity.person_record add constraint person_record_match_method_check
    check (match_method in ('nik', 'probabilistic', 'nik+probabilistic', 'rule', 'review', 'single'));
