-- Every quarantined row of an accepted DTKS snapshot, with the member it belongs to where that can be told.
-- identified_by: 'record_key' when the extractor read the IDDTKS (the row split by the header and broke a row
-- rule such as a wrong PERIODE or a repeated IDDTKS); 'raw_field' when the row did not split (wrong field count)
-- but exactly one of its fields is the IDDTKS of a member seen in an earlier snapshot (ids are opaque and
-- unique, so an exact field match is the member; column order is not trusted); null when neither: an
-- unidentified row, which makes that month's exits uncertain (see fct_dtks_register_events).
with

quarantined as (
    select * from {{ ref('stg_dinsos__dtks_quarantined_members') }}
),

known_members as (
    select
        iddtks,
        min(periode) as first_periode
    from {{ ref('int_dinsos__dtks_members_located') }}
    group by iddtks
),

field_matches as (
    select
        quarantined.batch_id,
        quarantined.source_row_number,
        min(known_members.iddtks) as iddtks,
        count(distinct known_members.iddtks) as candidates
    from quarantined
    cross join lateral unnest(quarantined.raw_fields) as raw_field (field_value)
    inner join known_members
        on raw_field.field_value = known_members.iddtks and quarantined.periode > known_members.first_periode
    where quarantined.iddtks is null
    group by quarantined.batch_id, quarantined.source_row_number
)

select
    quarantined.batch_id,
    quarantined.source_row_number,
    quarantined.periode,
    quarantined.rule,
    quarantined.field,
    coalesce(quarantined.iddtks, case when field_matches.candidates = 1 then field_matches.iddtks end) as iddtks,
    case
        when quarantined.iddtks is not null then 'record_key'
        when field_matches.candidates = 1 then 'raw_field'
    end as identified_by
from quarantined
left join field_matches
    on
        quarantined.batch_id = field_matches.batch_id
        and quarantined.source_row_number = field_matches.source_row_number
