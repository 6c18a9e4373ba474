{{ config(
    materialized='table',
    post_hook='analyze {{ this }}',
    indexes=[{'columns': ['iddtks', 'periode_index']}, {'columns': ['person_id']}],
) }}

-- Every DTKS member in every accepted monthly snapshot, with the person they are and their resolved kelurahan.
-- The basis of DTKS history, household status and programme participation.
with

members as (
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
)

select
    members.dtks_member_key,
    members.iddtks,
    'dinsos_dtks:' || members.iddtks as record_key,
    links.person_id,
    members.periode,
    to_date(members.periode, 'YYYY-MM') as periode_start,
    periods.periode_index,
    periods.is_latest_periode,
    members.no_kk,
    members.hubungan_keluarga,
    members.kode_kelurahan,
    members.kode_kecamatan,
    members.desil,
    coalesce(members.is_pkh, false) as is_pkh,
    coalesce(members.is_bpnt, false) as is_bpnt,
    coalesce(members.is_pbi_jk, false) as is_pbi_jk
from members
inner join periods on members.periode = periods.periode
left join links on 'dinsos_dtks:' || members.iddtks = links.record_key
