{{ config(indexes=[{'columns': ['person_id']}, {'columns': ['record_key'], 'unique': True}]) }}

-- Every source record with its person (identity resolution), its kelurahan resolved to a Kemendagri code,
-- and its NIK checked. Records the latest linkage has not seen yet (none in a normal build) are left out.
with

records as (
    select * from {{ ref('int_identity__source_records') }}
),

links as (
    select * from {{ ref('stg_identity__person_links') }}
),

kelurahan_by_code as (
    select
        kode_tanpa_titik,
        kode as kode_kelurahan
    from {{ ref('kode_wilayah_jawa_timur_35') }}
    where level = 4 and {{ lintas.in_region('kode') }}
),

nik_checks as (
    select * from {{ ref('int_identity__nik_checks') }}
)

select
    records.record_key,
    records.record_source,
    links.person_id,
    links.match_method,
    links.match_probability,
    records.nik,
    coalesce(nik_checks.nik_is_valid, false) as nik_is_valid,
    coalesce(nik_checks.nik_problems, array['missing']) as nik_problems,
    records.no_kk,
    records.nama,
    records.jenis_kelamin,
    records.tanggal_lahir,
    records.nama_ibu_kandung,
    records.alamat,
    records.rt,
    records.rw,
    coalesce(
        kelurahan_by_code.kode_kelurahan, {{ lintas.kelurahan_lookup_column('kode_kelurahan', 'kelurahan_by_name') }}
    ) as kode_kelurahan,
    records.observed_on,
    -- which source's values a person shows first: the welfare register is verified against Dukcapil,
    -- Dapodik against the school, the others are self-declared
    case records.record_source
        when 'dinsos_dtks' then 1
        when 'disdik_peserta_didik' then 2
        when 'diskopindag_umkm' then 3
        else 4
    end as source_rank
from records
inner join links on records.record_key = links.record_key
left join nik_checks
    on
        records.nik = nik_checks.nik
        and records.nik_from_number_cell = nik_checks.nik_from_number_cell
left join kelurahan_by_code on records.kode_wilayah = kelurahan_by_code.kode_tanpa_titik
{{ lintas.kelurahan_lookup_joins('records.kelurahan', 'records.kecamatan', 'kelurahan_by_name') }}
