-- One row per person found in any agency's data: the best value of each attribute (int_persons__best_attributes)
-- and where it came from, which agencies know the person, their current family card and kelurahan.
-- Names and addresses are agencies' free text: safe_text() neutralises a formula-like start for spreadsheets.
with

persons as (
    select * from {{ ref('int_persons__best_attributes') }}
),

coverage as (
    select
        person_id,
        count(*) as source_records,
        count(distinct nik) filter (where nik_is_valid) as distinct_valid_niks,
        bool_or(record_source = 'dinsos_dtks') as in_dtks,
        bool_or(record_source = 'disdik_peserta_didik') as in_dapodik,
        bool_or(record_source = 'diskopindag_umkm') as in_umkm,
        bool_or(record_source = 'dpmptsp_izin_usaha') as in_izin,
        min(match_probability) as min_match_probability,
        max(observed_on) as last_observed_on
    from {{ ref('int_identity__person_records') }}
    group by person_id
),

households as (
    select * from {{ ref('int_households__person_household') }}
)

select
    persons.person_id,
    persons.nik,
    persons.nik_is_valid,
    persons.nik_problems,
    {{ lintas.safe_text('persons.nama') }} as nama,
    persons.jenis_kelamin,
    persons.tanggal_lahir,
    {{ lintas.safe_text('persons.nama_ibu_kandung') }} as nama_ibu_kandung,
    {{ lintas.safe_text('persons.alamat') }} as alamat,
    persons.rt,
    persons.rw,
    persons.kode_kelurahan,
    households.no_kk,
    households.hubungan_keluarga,
    persons.best_source,
    coverage.source_records,
    coverage.distinct_valid_niks,
    coverage.in_dtks,
    coverage.in_dapodik,
    coverage.in_umkm,
    coverage.in_izin,
    coverage.min_match_probability,
    coverage.last_observed_on
from persons
inner join coverage on persons.person_id = coverage.person_id
left join households on persons.person_id = households.person_id
