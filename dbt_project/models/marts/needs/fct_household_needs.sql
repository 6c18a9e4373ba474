-- One row per family card and household need rule it meets in the current DTKS snapshot.
with

households as (
    select * from {{ ref('int_households__dtks_status') }}
    where is_in_dtks_current
),

kip_in_household as (
    select
        person_household.no_kk,
        bool_or(context.is_kip_current) as any_kip
    from {{ ref('int_households__person_household') }} as person_household
    inner join {{ ref('int_needs__person_context') }} as context
        on person_household.person_id = context.person_id
    group by person_household.no_kk
),

rumah_tangga_tanpa_program as (
    select
        households.no_kk,
        'RUMAH_TANGGA_TANPA_PROGRAM' as rule_code
    from households
    left join kip_in_household on households.no_kk = kip_in_household.no_kk
    where
        households.desil between 1 and 4
        and not (households.any_pkh or households.any_bpnt or households.any_pbi_jk)
        and not coalesce(kip_in_household.any_kip, false)
),

desil_kosong as (
    select
        no_kk,
        'DESIL_KOSONG' as rule_code
    from households
    where desil is null
),

needs as (
    select * from rumah_tangga_tanpa_program
    union all
    select * from desil_kosong
)

select
    md5(needs.no_kk || '|' || needs.rule_code) as household_need_key,
    needs.no_kk,
    needs.rule_code,
    rules.acting_agency,
    households.kode_kelurahan,
    {{ lintas.kabkota_of('households.kode_kelurahan') }} as kode_kabkota,
    households.desil,
    households.dtks_members as members,
    string_to_array(coalesce(households.member_record_keys, ''), '|') as evidence_record_keys,
    {{ lintas.as_of_date() }} as as_of_date
from needs
inner join households on needs.no_kk = households.no_kk
inner join {{ ref('need_rules') }} as rules on needs.rule_code = rules.rule_code
