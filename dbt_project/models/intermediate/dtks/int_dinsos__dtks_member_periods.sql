{{ config(indexes=[{'columns': ['iddtks', 'periode_index']}, {'columns': ['person_id']}]) }}

-- Every DTKS member in every accepted monthly snapshot, with the person they are and their resolved kelurahan.
-- The basis of DTKS history, household status and programme participation.
-- A member whose row was quarantined in a month (delivered, but unusable) was not absent: they keep the state
-- of their last usable row for that month, flagged is_carried_forward, so no exit, no ended spell and no
-- changed need follows from a quarantined row. Only a member who was in the register the month before (in a
-- usable row or carried forward) is carried: a quarantined row is never an entry.
with

-- not materialized: read where needed, not copied whole first
members as not materialized (
    select * from {{ ref('int_dinsos__dtks_members_located') }}
),

links as (
    select * from {{ ref('stg_identity__person_links') }}
),

periods as (
    select
        periode,
        dense_rank() over (order by periode) as periode_index,
        periode = max(periode) over () as is_latest_periode
    from (select distinct periode from members) as distinct_periods
),

-- read once, by the union below: the carry-forward lookups read only the few quarantined members' rows
present as not materialized (
    select
        members.dtks_member_key,
        members.iddtks,
        members.record_key,
        members.periode,
        periods.periode_index,
        periods.is_latest_periode,
        members.no_kk,
        members.hubungan_keluarga,
        members.kode_kelurahan,
        members.kode_kecamatan,
        members.desil,
        coalesce(members.is_pkh, false) as is_pkh,
        coalesce(members.is_bpnt, false) as is_bpnt,
        coalesce(members.is_pbi_jk, false) as is_pbi_jk,
        false as is_carried_forward
    from members
    inner join periods on members.periode = periods.periode
),

-- members delivered in a month only in quarantined rows
quarantined as (
    select distinct
        quarantined_rows.iddtks,
        periods.periode,
        periods.periode_index,
        periods.is_latest_periode
    from {{ ref('int_dinsos__dtks_quarantined_members') }} as quarantined_rows
    inner join periods on quarantined_rows.periode = periods.periode
    where
        quarantined_rows.iddtks is not null
        and not exists (
            select 1 from members
            where members.iddtks = quarantined_rows.iddtks and members.periode = quarantined_rows.periode
        )
),

quarantined_members_history as (
    select * from present
    where iddtks in (select quarantined.iddtks from quarantined)
),

last_present as (
    select
        quarantined.*,
        max(history.periode_index) as last_present_index
    from quarantined
    inner join quarantined_members_history as history
        on quarantined.iddtks = history.iddtks and quarantined.periode_index > history.periode_index
    group by quarantined.iddtks, quarantined.periode, quarantined.periode_index, quarantined.is_latest_periode
),

-- carried only over an unbroken run of quarantined months since the last usable row
carried as (
    select
        last_present.iddtks || '@' || last_present.periode as dtks_member_key,
        last_present.iddtks,
        state.record_key,
        last_present.periode,
        last_present.periode_index,
        last_present.is_latest_periode,
        state.no_kk,
        state.hubungan_keluarga,
        state.kode_kelurahan,
        state.kode_kecamatan,
        state.desil,
        state.is_pkh,
        state.is_bpnt,
        state.is_pbi_jk,
        true as is_carried_forward
    from last_present
    inner join quarantined_members_history as state
        on last_present.iddtks = state.iddtks and last_present.last_present_index = state.periode_index
    where (
        select count(*) from quarantined as run
        where
            run.iddtks = last_present.iddtks
            and run.periode_index > last_present.last_present_index
            and run.periode_index <= last_present.periode_index
    ) = last_present.periode_index - last_present.last_present_index
),

member_periods as (
    select * from present
    union all
    select * from carried
)

select
    member_periods.dtks_member_key,
    member_periods.iddtks,
    member_periods.record_key,
    links.person_id,
    member_periods.periode,
    to_date(member_periods.periode, 'YYYY-MM') as periode_start,
    member_periods.periode_index,
    member_periods.is_latest_periode,
    member_periods.no_kk,
    member_periods.hubungan_keluarga,
    member_periods.kode_kelurahan,
    member_periods.kode_kecamatan,
    member_periods.desil,
    member_periods.is_pkh,
    member_periods.is_bpnt,
    member_periods.is_pbi_jk,
    member_periods.is_carried_forward
from member_periods
left join links on member_periods.record_key = links.record_key
