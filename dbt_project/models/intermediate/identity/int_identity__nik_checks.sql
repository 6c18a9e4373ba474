{{ config(indexes=[{'columns': ['nik']}]) }}

-- Every distinct recorded NIK with what it says and what is wrong with it (lintas.identity.nik's rules in SQL).
-- The region prefix is checked against current and historical kecamatan codes: it is the place of first
-- registration, not of residence. The CTEs are materialized: inlined, every reference would recompute the checks.
with

recorded as (
    select distinct
        nik,
        nik_from_number_cell
    from {{ ref('int_identity__source_records') }}
    where nik is not null
),

kecamatan_codes as (
    select kode_tanpa_titik as kode_kecamatan
    from {{ ref('kode_wilayah_indonesia_prov_kabkota_kec') }}
    where level = 3
    union
    select replace(kode, '.', '') as kode_kecamatan
    from {{ ref('kode_wilayah_historis_prov_kab_kec') }}
    where level = 3
),

implied as materialized (
    select
        recorded.nik,
        recorded.nik_from_number_cell,
        kecamatan_codes.kode_kecamatan is not null as region_known,
        {{ lintas.nik_implied_date('recorded.nik') }} as implied_tanggal_lahir,
        {{ lintas.nik_implied_sex('recorded.nik') }} as implied_jenis_kelamin
    from recorded
    left join kecamatan_codes on left(recorded.nik, 6) = kecamatan_codes.kode_kecamatan
),

checked as materialized (
    select
        *,
        {{ lintas.nik_problems('nik', 'region_known', 'nik_from_number_cell', 'implied_tanggal_lahir') }}
            as nik_problems
    from implied
)

select
    nik,
    nik_from_number_cell,
    nik_problems,
    cardinality(nik_problems) = 0 as nik_is_valid,
    case when cardinality(nik_problems) = 0 then implied_tanggal_lahir end as implied_tanggal_lahir,
    case when cardinality(nik_problems) = 0 then implied_jenis_kelamin end as implied_jenis_kelamin
from checked
