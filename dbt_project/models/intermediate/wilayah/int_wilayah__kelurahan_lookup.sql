with

wilayah as (
    select
        kode,
        nama,
        kode_induk
    from {{ ref('kode_wilayah_kota_malang_3573') }}
),

aliases as (
    select distinct
        {{ lintas.region_key('alias_upper') }} as kelurahan_key,
        kode_kemendagri as kode_kelurahan
    from {{ ref('alias_kecamatan_kelurahan_kota_malang') }}
    -- kelurahan codes have four parts: 35.73.KK.DDDD
    where kode_kemendagri ~ '^\d{2}\.\d{2}\.\d{2}\.\d{4}$'
)

select
    aliases.kelurahan_key,
    aliases.kode_kelurahan,
    kelurahan.nama as nama_kelurahan,
    kecamatan.kode as kode_kecamatan,
    kecamatan.nama as nama_kecamatan
from aliases
inner join wilayah as kelurahan on aliases.kode_kelurahan = kelurahan.kode
inner join wilayah as kecamatan on kelurahan.kode_induk = kecamatan.kode
