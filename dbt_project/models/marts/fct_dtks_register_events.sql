-- Entries into and exits from the DTKS register, month by month: a member present in a snapshot and absent
-- from the previous one entered (masuk); present in one and absent from the next, they left (keluar) in that
-- next month. The first snapshot Lintas holds is the baseline and records no entries.
with

member_periods as (
    select * from {{ ref('int_dinsos__dtks_member_periods') }}
),

periods as (
    select distinct
        periode_index,
        periode,
        periode_start
    from member_periods
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
    md5(iddtks || '|' || event_type || '|' || periode) as register_event_key,
    *
from (
    select * from entries
    union all
    select * from exits
) as events
