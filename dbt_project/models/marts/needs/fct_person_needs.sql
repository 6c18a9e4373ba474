-- One row per person and need rule the person meets, as of the as-of date (var as_of_date, default today).
-- Each rule is a documented row of the need_rules seed; the evidence names the source records that prove it.
with

context as (
    select
        *,
        extract(year from age({{ lintas.as_of_date() }}, tanggal_lahir))::int as umur
    from {{ ref('int_needs__person_context') }}
),

anak_tanpa_kip as (
    select
        person_id,
        'ANAK_TANPA_KIP' as rule_code,
        concat_ws('|', dtks_current_record_keys, student_record_keys) as evidence_record_keys
    from context
    where
        umur between 6 and 18
        and in_dtks_current
        and dtks_current_desil between 1 and 4
        and not is_kip_current
),

kip_keluar_dtks as (
    select
        person_id,
        'KIP_KELUAR_DTKS' as rule_code,
        concat_ws('|', student_record_keys, household_last_dtks_record_keys) as evidence_record_keys
    from context
    where
        is_kip_current
        and not in_dtks_current
        and not household_in_dtks_current
        and (ever_in_dtks or household_ever_in_dtks)
),

kip_di_luar_dtks as (
    select
        person_id,
        'KIP_DI_LUAR_DTKS' as rule_code,
        student_record_keys as evidence_record_keys
    from context
    where is_kip_current and not ever_in_dtks and not household_ever_in_dtks
),

bansos_desil_tinggi as (
    select
        person_id,
        'BANSOS_DESIL_TINGGI' as rule_code,
        dtks_current_record_keys as evidence_record_keys
    from context
    where receives_pkh_or_bpnt_current and dtks_current_desil between 6 and 10
),

umkm_tanpa_izin as (
    select
        person_id,
        'UMKM_TANPA_IZIN' as rule_code,
        umkm_record_keys as evidence_record_keys
    from context
    where
        is_umkm_trained
        and in_dtks_current
        and dtks_current_desil between 1 and 5
        and not has_active_permit
        and not umkm_has_nib
),

usaha_mikro_tanpa_bpr as (
    select
        person_id,
        'USAHA_MIKRO_TANPA_BPR' as rule_code,
        active_permit_record_keys as evidence_record_keys
    from context
    where
        has_active_micro_permit
        and in_dtks_current
        and dtks_current_desil between 1 and 4
        and not has_bpr_loan
),

needs as (
    select * from anak_tanpa_kip
    union all
    select * from kip_keluar_dtks
    union all
    select * from kip_di_luar_dtks
    union all
    select * from bansos_desil_tinggi
    union all
    select * from umkm_tanpa_izin
    union all
    select * from usaha_mikro_tanpa_bpr
)

select
    md5(needs.person_id::text || '|' || needs.rule_code) as person_need_key,
    needs.person_id,
    needs.rule_code,
    rules.acting_agency,
    context.no_kk,
    context.kode_kelurahan,
    {{ lintas.kabkota_of('context.kode_kelurahan') }} as kode_kabkota,
    context.umur,
    context.dtks_current_desil as desil,
    string_to_array(coalesce(needs.evidence_record_keys, ''), '|') as evidence_record_keys,
    {{ lintas.as_of_date() }} as as_of_date
from needs
inner join context on needs.person_id = context.person_id
inner join {{ ref('need_rules') }} as rules on needs.rule_code = rules.rule_code
