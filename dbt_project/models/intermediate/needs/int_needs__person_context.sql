{{ config(indexes=[{'columns': ['person_id'], 'unique': True}]) }}

-- Per person, the facts the need rules read: birth date and kelurahan as dim_person shows them
-- (int_persons__best_attributes), register standing, programmes, business, and the source records that prove
-- each ('|'-separated record keys). One row per linked person.
with

persons as (
    select
        person_id,
        tanggal_lahir,
        kode_kelurahan
    from {{ ref('int_persons__best_attributes') }}
),

dtks as (
    select
        person_id,
        bool_or(is_latest_periode) as in_dtks_current,
        -- the household decile on the person's own member row of the current snapshot
        max(desil) filter (where is_latest_periode) as dtks_current_desil,
        bool_or((is_pkh or is_bpnt) and is_latest_periode) as receives_pkh_or_bpnt_current,
        string_agg(distinct record_key, '|') filter (where is_latest_periode) as dtks_current_record_keys
    from {{ ref('int_dinsos__dtks_member_periods') }}
    where person_id is not null
    group by person_id
),

students as (
    select
        person_id,
        bool_or(is_penerima_kip) as is_kip_current,
        string_agg(record_key, '|' order by record_key) as student_record_keys
    from {{ ref('int_disdik__students_linked') }}
    where person_id is not null and not is_deleted
    group by person_id
),

umkm as (
    select
        person_id,
        bool_or(jenis_pelatihan is not null) as is_umkm_trained,
        bool_or(nib is not null) as umkm_has_nib,
        bool_or(is_pinjaman_modal_bpr) as has_bpr_loan,
        string_agg(record_key, '|' order by record_key) as umkm_record_keys
    from {{ ref('int_diskopindag__umkm_owners_linked') }}
    where person_id is not null
    group by person_id
),

permits as (
    select
        person_id,
        bool_or(status = 'AKTIF') as has_active_permit,
        bool_or(status = 'AKTIF' and skala_usaha = 'MIKRO') as has_active_micro_permit,
        string_agg(record_key, '|' order by record_key) filter (where status = 'AKTIF')
            as active_permit_record_keys
    from {{ ref('int_dpmptsp__permits_linked') }}
    where person_id is not null
    group by person_id
),

households as (
    select
        person_household.person_id,
        person_household.no_kk,
        coalesce(dtks_status.is_in_dtks_current, false) as household_in_dtks_current,
        dtks_status.no_kk is not null as household_ever_in_dtks,
        dtks_status.member_record_keys as household_last_dtks_record_keys
    from {{ ref('int_households__person_household') }} as person_household
    left join {{ ref('int_households__dtks_status') }} as dtks_status
        on person_household.no_kk = dtks_status.no_kk
)

select
    persons.person_id,
    persons.tanggal_lahir,
    persons.kode_kelurahan,
    households.no_kk,
    coalesce(dtks.in_dtks_current, false) as in_dtks_current,
    dtks.person_id is not null as ever_in_dtks,
    dtks.dtks_current_desil,
    coalesce(dtks.receives_pkh_or_bpnt_current, false) as receives_pkh_or_bpnt_current,
    coalesce(households.household_in_dtks_current, false) as household_in_dtks_current,
    coalesce(households.household_ever_in_dtks, false) as household_ever_in_dtks,
    coalesce(students.is_kip_current, false) as is_kip_current,
    coalesce(umkm.is_umkm_trained, false) as is_umkm_trained,
    coalesce(umkm.umkm_has_nib, false) as umkm_has_nib,
    coalesce(umkm.has_bpr_loan, false) as has_bpr_loan,
    coalesce(permits.has_active_permit, false) as has_active_permit,
    coalesce(permits.has_active_micro_permit, false) as has_active_micro_permit,
    dtks.dtks_current_record_keys,
    households.household_last_dtks_record_keys,
    students.student_record_keys,
    umkm.umkm_record_keys,
    permits.active_permit_record_keys
from persons
left join dtks on persons.person_id = dtks.person_id
left join students on persons.person_id = students.person_id
left join umkm on persons.person_id = umkm.person_id
left join permits on persons.person_id = permits.person_id
left join households on persons.person_id = households.person_id
