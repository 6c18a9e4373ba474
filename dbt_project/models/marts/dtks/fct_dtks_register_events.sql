-- Entries into and exits from the DTKS register, month by month: a member present in a snapshot and absent
-- from the previous one entered (masuk); present in one and absent from the next, they left (keluar) in that
-- next month. The first snapshot Lintas holds is the baseline and records no entries.
-- A member whose row was quarantined is carried forward (int_dinsos__dtks_member_periods), so never leaves here.
-- A month with quarantined rows that name no member (a row that did not split, no field is a known IDDTKS)
-- may hide a member among its "exits": those exits are published flagged is_uncertain, not as plain fact.
with

member_periods as (
    select * from {{ ref('int_dinsos__dtks_member_periods') }}
),

periods as (
    select
        periode_index,
        periode,
        periode_start,
        count(*) as members
    from member_periods
    group by periode_index, periode, periode_start
),

unidentified_quarantined as (
    select
        periode,
        count(*) as rows_unidentified
    from {{ ref('int_dinsos__dtks_quarantined_members') }}
    where iddtks is null
    group by periode
),

entries as (
    select
        member_periods.iddtks,
        member_periods.record_key,
        member_periods.person_id,
        member_periods.no_kk,
        member_periods.kode_kelurahan,
        member_periods.desil,
        'masuk' as event_type,
        member_periods.periode,
        member_periods.periode_start
    from member_periods
    left join member_periods as previous
        on
            member_periods.iddtks = previous.iddtks
            and previous.periode_index = member_periods.periode_index - 1
    where member_periods.periode_index > 1 and previous.iddtks is null
),

exits as (
    select
        member_periods.iddtks,
        member_periods.record_key,
        member_periods.person_id,
        member_periods.no_kk,
        member_periods.kode_kelurahan,
        member_periods.desil,
        'keluar' as event_type,
        next_period.periode,
        next_period.periode_start
    from member_periods
    inner join periods as next_period on next_period.periode_index = member_periods.periode_index + 1
    left join member_periods as next_row
        on
            member_periods.iddtks = next_row.iddtks
            and next_row.periode_index = member_periods.periode_index + 1
    where next_row.iddtks is null
)

select
    md5(events.iddtks || '|' || events.event_type || '|' || events.periode) as register_event_key,
    events.*,
    events.event_type = 'keluar' and coalesce(unidentified_quarantined.rows_unidentified, 0) > 0 as is_uncertain,
    previous_period.members as members_previous_month
from (
    select * from entries
    union all
    select * from exits
) as events
inner join periods as this_period on events.periode = this_period.periode
left join periods as previous_period on this_period.periode_index - 1 = previous_period.periode_index
left join unidentified_quarantined on events.periode = unidentified_quarantined.periode
