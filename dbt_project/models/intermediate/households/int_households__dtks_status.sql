{{ config(indexes=[{'columns': ['no_kk'], 'unique': True}]) }}

-- Each family card's standing in the welfare register: first and last snapshot, and in its last snapshot the
-- decile, programmes and members. A card absent from the latest snapshot has left the register.
with

member_periods as (
    select * from {{ ref('int_dinsos__dtks_member_periods') }}
    where no_kk ~ '^\d{16}$'
),

per_period as (
    select
        no_kk,
        periode,
        bool_or(is_latest_periode) as is_latest_periode,
        -- members of one card should share a decile; if they disagree the most common one stands
        mode() within group (order by desil) as desil,
        mode() within group (order by kode_kelurahan) as kode_kelurahan,
        count(*) as members,
        bool_or(is_pkh) as any_pkh,
        bool_or(is_bpnt) as any_bpnt,
        bool_or(is_pbi_jk) as any_pbi_jk,
        min(person_id) filter (where hubungan_keluarga = 'KEPALA KELUARGA') as kepala_keluarga_person_id,
        string_agg(record_key, '|' order by record_key) as member_record_keys
    from member_periods
    group by no_kk, periode
),

ranked as (
    select
        *,
        min(periode) over (partition by no_kk) as dtks_first_periode,
        row_number() over (partition by no_kk order by periode desc) as recency
    from per_period
)

select
    no_kk,
    dtks_first_periode,
    periode as dtks_last_periode,
    is_latest_periode as is_in_dtks_current,
    desil,
    kode_kelurahan,
    members as dtks_members,
    any_pkh,
    any_bpnt,
    any_pbi_jk,
    kepala_keluarga_person_id,
    member_record_keys
from ranked
where recency = 1
