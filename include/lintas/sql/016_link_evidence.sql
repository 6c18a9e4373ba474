-- Why records are one person, for `lintas explain-person` and auditors: the evidence of the latest linkage run.
-- identity.link_pair holds the pairs that joined each person's records (replaced every run, like person_record):
--   rule  nik_group (a valid, unconflicted NIK shared: a star from the group's first record), near_nik,
--         same_nik, name_birth_mother, similar_name_birth, home_business (lintas.identity.rules), or model
--         (Splink at or above the match threshold; match_probability is its probability, null for the rules),
--         or review (a reviewer's match decision in identity.review_decision).
create table if not exists identity.link_pair (
    link_run_id       bigint not null references identity.link_run (link_run_id),
    record_key_l      text not null,
    record_key_r      text not null,
    rule              text not null check (rule in ('nik_group', 'near_nik', 'same_nik', 'name_birth_mother',
                                                    'similar_name_birth', 'home_business', 'model',
                                                    'review')),
    match_probability numeric
);
create index if not exists link_pair_left on identity.link_pair (record_key_l);
create index if not exists link_pair_right on identity.link_pair (record_key_r);

-- For auditors (they read audit.*, no identities): per record its person, how it joined and by what evidence,
-- and the person's merges and splits. Record keys and agency ids only: no NIK, name, birth date or address.
create or replace view audit.person_link as
select
    pr.person_id,
    pr.record_key,
    pr.source,
    pr.match_method,
    pr.match_probability,
    pr.link_run_id,
    coalesce(evidence.rules, '{}') as rules,
    coalesce(evidence.linked_to, '{}') as linked_to,
    coalesce(history.events, '[]') as person_events
from identity.person_record as pr
left join lateral (
    select
        array_agg(distinct lp.rule order by lp.rule) as rules,
        array_agg(distinct case when lp.record_key_l = pr.record_key then lp.record_key_r else lp.record_key_l end)
            as linked_to
    from identity.link_pair as lp
    where lp.record_key_l = pr.record_key or lp.record_key_r = pr.record_key
) as evidence on true
left join lateral (
    select jsonb_agg(jsonb_build_object(
        'event', pe.event, 'person_id', pe.person_id, 'other_person_ids', pe.other_person_ids,
        'link_run_id', pe.link_run_id, 'recorded_at', pe.recorded_at) order by pe.person_event_id) as events
    from identity.person_event as pe
    where pe.person_id = pr.person_id or pr.person_id = any(pe.other_person_ids)
) as history on true;
