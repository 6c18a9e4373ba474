-- One row per person found in any agency's data: the best value of each attribute and where it came from,
-- which agencies know the person, their current family card and kelurahan.
-- Names and addresses are agencies' free text: safe_text() neutralises a formula-like start for spreadsheets.
with

records as (
    select * from {{ ref('int_identity__person_records') }}
),

-- distinct on, not row_number() = 1: the planner estimates one row per person for it, where a filtered window
-- is guessed at a handful of rows and the joins below degrade into nested loops
best as (
    select distinct on (person_id)
        person_id,
        record_source as best_source,
        nama,
        jenis_kelamin,
        tanggal_lahir,
        nama_ibu_kandung,
        alamat,
        rt,
        rw,
        kode_kelurahan
    from records
    order by person_id asc, source_rank asc, observed_on desc nulls last, record_key asc
),

-- the best record that has a valid NIK, so a person's NIK is never a corrupt one when a good one exists
nik as (
    select distinct on (person_id)
        person_id,
        nik,
        nik_is_valid,
        nik_problems
    from records
    order by person_id asc, nik_is_valid desc, source_rank asc, observed_on desc nulls last, record_key asc
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
        -- a kelurahan where the best record has none: the most recently stated one
        (
            array_agg(kode_kelurahan order by observed_on desc nulls last, source_rank asc)
            filter (where kode_kelurahan is not null)
        )[1
        ] as latest_kode_kelurahan,
        (
            array_agg(jenis_kelamin order by source_rank asc, observed_on desc nulls last)
            filter (where jenis_kelamin is not null)
        )[1
        ] as any_jenis_kelamin,
        (
            array_agg(tanggal_lahir order by source_rank asc, observed_on desc nulls last)
            filter (where tanggal_lahir is not null)
        )[1
        ] as any_tanggal_lahir,
        min(match_probability) as min_match_probability,
        max(observed_on) as last_observed_on
    from records
    group by person_id
),

households as (
    select * from {{ ref('int_households__person_household') }}
)

select
    best.person_id,
    nik.nik,
    nik.nik_is_valid,
    nik.nik_problems,
    {{ lintas.safe_text('best.nama') }} as nama,
    coalesce(best.jenis_kelamin, coverage.any_jenis_kelamin) as jenis_kelamin,
    coalesce(best.tanggal_lahir, coverage.any_tanggal_lahir) as tanggal_lahir,
    {{ lintas.safe_text('best.nama_ibu_kandung') }} as nama_ibu_kandung,
    {{ lintas.safe_text('best.alamat') }} as alamat,
    best.rt,
    best.rw,
    coalesce(best.kode_kelurahan, coverage.latest_kode_kelurahan) as kode_kelurahan,
    households.no_kk,
    households.hubungan_keluarga,
    best.best_source,
    coverage.source_records,
    coverage.distinct_valid_niks,
    coverage.in_dtks,
    coverage.in_dapodik,
    coverage.in_umkm,
    coverage.in_izin,
    coverage.min_match_probability,
    coverage.last_observed_on
from best
inner join nik on best.person_id = nik.person_id
inner join coverage on best.person_id = coverage.person_id
left join households on best.person_id = households.person_id
