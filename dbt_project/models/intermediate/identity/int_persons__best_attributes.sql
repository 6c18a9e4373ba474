{{ config(indexes=[{'columns': ['person_id'], 'unique': True}]) }}

-- The one answer to "which value does this person show", read by dim_person and the needs (and so the area counts):
-- each attribute from the person's best record (source rank, then newest, then record key); where that record has
-- none, sex and birth date from the next best record that states them and the kelurahan from the most recently
-- stated one. The NIK is that of the best record with a valid NIK, so it is never a corrupt one when a good one
-- exists.
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

nik as (
    select distinct on (person_id)
        person_id,
        nik,
        nik_is_valid,
        nik_problems
    from records
    order by person_id asc, nik_is_valid desc, source_rank asc, observed_on desc nulls last, record_key asc
),

fallbacks as (
    select
        person_id,
        (
            array_agg(jenis_kelamin order by source_rank asc, observed_on desc nulls last, record_key asc)
            filter (where jenis_kelamin is not null)
        )[1] as jenis_kelamin,
        (
            array_agg(tanggal_lahir order by source_rank asc, observed_on desc nulls last, record_key asc)
            filter (where tanggal_lahir is not null)
        )[1] as tanggal_lahir,
        (
            array_agg(kode_kelurahan order by observed_on desc nulls last, source_rank asc, record_key asc)
            filter (where kode_kelurahan is not null)
        )[1] as latest_kode_kelurahan
    from records
    group by person_id
)

select
    best.person_id,
    nik.nik,
    nik.nik_is_valid,
    nik.nik_problems,
    best.nama,
    coalesce(best.jenis_kelamin, fallbacks.jenis_kelamin) as jenis_kelamin,
    coalesce(best.tanggal_lahir, fallbacks.tanggal_lahir) as tanggal_lahir,
    best.nama_ibu_kandung,
    best.alamat,
    best.rt,
    best.rw,
    coalesce(best.kode_kelurahan, fallbacks.latest_kode_kelurahan) as kode_kelurahan,
    best.best_source
from best
inner join nik on best.person_id = nik.person_id
inner join fallbacks on best.person_id = fallbacks.person_id
