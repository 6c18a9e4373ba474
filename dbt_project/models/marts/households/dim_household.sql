-- One row per family card (No. KK) that is some person's current card or appears in the welfare register:
-- its current members, its standing in DTKS (decile, programmes, first and last snapshot) and its kelurahan.
with

current_members as (
    select
        no_kk,
        count(*) as members,
        min(person_id) filter (where hubungan_keluarga = 'KEPALA KELUARGA') as kepala_keluarga_person_id
    from {{ ref('int_households__person_household') }}
    group by no_kk
),

member_places as (
    select
        households.no_kk,
        mode() within group (order by persons.kode_kelurahan) as kode_kelurahan
    from {{ ref('int_households__person_household') }} as households
    inner join {{ ref('int_identity__person_records') }} as persons on households.person_id = persons.person_id
    where persons.kode_kelurahan is not null
    group by households.no_kk
),

students as (
    select
        households.no_kk,
        count(distinct students.person_id) as students,
        count(distinct students.person_id) filter (where students.is_penerima_kip) as kip_recipients
    from {{ ref('int_households__person_household') }} as households
    inner join {{ ref('int_disdik__students_linked') }} as students on households.person_id = students.person_id
    where not students.is_deleted
    group by households.no_kk
),

dtks as (
    select * from {{ ref('int_households__dtks_status') }}
),

cards as (
    select no_kk from current_members
    union
    select no_kk from dtks
)

select
    cards.no_kk,
    coalesce(current_members.members, 0) as members,
    coalesce(current_members.kepala_keluarga_person_id, dtks.kepala_keluarga_person_id)
        as kepala_keluarga_person_id,
    coalesce(dtks.kode_kelurahan, member_places.kode_kelurahan) as kode_kelurahan,
    dtks.no_kk is not null as ever_in_dtks,
    coalesce(dtks.is_in_dtks_current, false) as is_in_dtks_current,
    dtks.dtks_first_periode,
    dtks.dtks_last_periode,
    dtks.desil,
    dtks.dtks_members,
    coalesce(dtks.any_pkh, false) as any_pkh,
    coalesce(dtks.any_bpnt, false) as any_bpnt,
    coalesce(dtks.any_pbi_jk, false) as any_pbi_jk,
    coalesce(students.students, 0) as students,
    coalesce(students.kip_recipients, 0) as kip_recipients
from cards
left join current_members on cards.no_kk = current_members.no_kk
left join member_places on cards.no_kk = member_places.no_kk
left join students on cards.no_kk = students.no_kk
left join dtks on cards.no_kk = dtks.no_kk
