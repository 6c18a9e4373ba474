-- Type-2 history of DTKS membership, from the register's own monthly snapshots: one row per member and spell of
-- unchanged family card, decile, programmes and kelurahan. valid_to is the first month the member was absent
-- or changed (exclusive); null while the spell is current. "Who was in DTKS in 2026-03 and what did they
-- receive": where date '2026-03-01' >= valid_from and (valid_to is null or date '2026-03-01' < valid_to).
-- A month in which the member's row was quarantined carries their state forward (int_dinsos__dtks_member_periods):
-- the spell goes on, and carried_forward_months says how many of its months rest on a carried-forward state.
with

member_periods as (
    select
        *,
        md5(concat_ws('|', no_kk, desil, is_pkh, is_bpnt, is_pbi_jk, kode_kelurahan, hubungan_keluarga))
            as state_hash
    from {{ ref('int_dinsos__dtks_member_periods') }}
),

periods as (
    select distinct
        periode_index,
        periode_start
    from member_periods
),

changes as (
    select
        *,
        case
            when
                lag(periode_index) over member_order = periode_index - 1
                and lag(state_hash) over member_order = state_hash
                then 0
            else 1
        end as starts_spell
    from member_periods
    window member_order as (partition by iddtks order by periode_index)
),

spells as (
    select
        *,
        sum(starts_spell) over (partition by iddtks order by periode_index) as spell_number
    from changes
),

collapsed as (
    select
        iddtks,
        spell_number,
        min(periode_start) as valid_from,
        max(periode_index) as last_periode_index,
        -- within a spell every state column is equal: any row's value is the spell's
        max(record_key) as record_key,
        max(person_id) as person_id,
        max(no_kk) as no_kk,
        max(hubungan_keluarga) as hubungan_keluarga,
        max(desil) as desil,
        bool_or(is_pkh) as is_pkh,
        bool_or(is_bpnt) as is_bpnt,
        bool_or(is_pbi_jk) as is_pbi_jk,
        max(kode_kelurahan) as kode_kelurahan,
        count(*) filter (where is_carried_forward) as carried_forward_months,
        (array_agg(is_carried_forward order by periode_index desc))[1] as ends_carried_forward
    from spells
    group by iddtks, spell_number
)

select
    md5(collapsed.iddtks || '|' || collapsed.valid_from) as member_spell_key,
    collapsed.iddtks,
    collapsed.record_key,
    collapsed.person_id,
    collapsed.no_kk,
    collapsed.hubungan_keluarga,
    collapsed.desil,
    collapsed.is_pkh,
    collapsed.is_bpnt,
    collapsed.is_pbi_jk,
    collapsed.kode_kelurahan,
    collapsed.carried_forward_months::integer as carried_forward_months,
    coalesce(collapsed.ends_carried_forward, false) as is_carried_forward,
    collapsed.valid_from,
    next_period.periode_start as valid_to,
    next_period.periode_start is null as is_current
from collapsed
left join periods as next_period on collapsed.last_periode_index + 1 = next_period.periode_index
