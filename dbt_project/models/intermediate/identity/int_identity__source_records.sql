{{ config(indexes=[{'columns': ['record_key'], 'unique': True}]) }}

-- Every person-bearing record of every agency in one shape, the input of identity resolution (linkage).
-- One row per source record: a DTKS register member (latest snapshot they appear in), a student, a UMKM owner
-- row, a permit's responsible person (perseorangan, or a badan usaha that names a NIK). `nib` (OSS business id)
-- where the agency records one: Diskopindag's workbooks and DPMPTSP's permits share it.
with

dtks_latest as (
    select
        *,
        row_number() over (partition by iddtks order by periode desc) as recency
    from {{ ref('stg_dinsos__dtks_members') }}
),

dtks as (
    select
        record_key,
        'dinsos_dtks' as record_source,
        nik,
        false as nik_from_number_cell,
        no_kk,
        nama,
        jenis_kelamin,
        tanggal_lahir,
        nama_ibu_kandung,
        alamat,
        rt,
        rw,
        kelurahan,
        kecamatan,
        null::text as kode_wilayah,
        null::text as nib,
        to_date(periode, 'YYYY-MM') as observed_on
    from dtks_latest
    where recency = 1
),

students as (
    select
        record_key,
        'disdik_peserta_didik' as record_source,
        nik,
        false as nik_from_number_cell,
        no_kk,
        nama,
        jenis_kelamin,
        tanggal_lahir,
        nama_ibu_kandung,
        alamat,
        rt,
        rw,
        kelurahan,
        kecamatan,
        null::text as kode_wilayah,
        null::text as nib,
        updated_at::date as observed_on
    from {{ ref('stg_disdik__students') }}
),

umkm_owners as (
    select
        record_key,
        'diskopindag_umkm' as record_source,
        nik,
        nik_is_excel_number as nik_from_number_cell,
        null::text as no_kk,
        nama_pemilik as nama,
        jenis_kelamin,
        tanggal_lahir,
        null::text as nama_ibu_kandung,
        alamat,
        rt,
        rw,
        kelurahan,
        kecamatan,
        null::text as kode_wilayah,
        nib,
        to_date(tahun, 'YYYY') as observed_on
    from {{ ref('stg_diskopindag__umkm_owners') }}
),

permit_holders as (
    select
        record_key,
        'dpmptsp_izin_usaha' as record_source,
        nik_penanggung_jawab as nik,
        false as nik_from_number_cell,
        null::text as no_kk,
        nama_penanggung_jawab as nama,
        null::text as jenis_kelamin,
        null::date as tanggal_lahir,
        null::text as nama_ibu_kandung,
        alamat_usaha as alamat,
        rt,
        rw,
        kelurahan,
        null::text as kecamatan,
        kode_wilayah,
        nib,
        updated_at::date as observed_on
    from {{ ref('stg_dpmptsp__permits') }}
    where jenis_pelaku_usaha = '02' or nik_penanggung_jawab is not null
)

select * from dtks
union all
select * from students
union all
select * from umkm_owners
union all
select * from permit_holders
