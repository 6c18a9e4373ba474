-- Spellings and codes of the region's kelurahan/desa resolved to Kemendagri codes. A name is matched together with its
-- kecamatan (kecamatan_key: any spelling of the kecamatan), or alone (kecamatan_key '') where the name belongs
-- to one kelurahan of the region only: several kab/kota have a desa of the same name (Tulungrejo in Kota Batu and
-- twice in Kabupaten Malang). Join with the kelurahan_lookup_joins macro.
with

wilayah as (
    select
        kode,
        level,
        nama,
        kode_induk
    from {{ ref('kode_wilayah_jawa_timur_35') }}
    where {{ lintas.in_region('kode') }}
),

-- every Kemendagri name, plus the reviewed spellings (BPS 2018, no-space forms) where the alias list has them
aliases as (
    select distinct
        {{ lintas.region_key('alias_upper') }} as alias_key,
        kode_kemendagri as kode
    from {{ ref('alias_kecamatan_kelurahan_kota_malang') }}
    where {{ lintas.in_region('kode_kemendagri') }}
    union
    select
        {{ lintas.region_key('nama') }} as alias_key,
        kode
    from wilayah
    where level in (3, 4)
    union
    -- a Kemendagri code where the name belongs (35.73.05.1003 or 3573051003): region_key keeps its digits
    select
        replace(kode, '.', '') as alias_key,
        kode
    from wilayah
    where level in (3, 4)
),

kelurahan as (
    select
        aliases.alias_key as kelurahan_key,
        kelurahan.kode as kode_kelurahan,
        kelurahan.nama as nama_kelurahan,
        kecamatan.kode as kode_kecamatan,
        kecamatan.nama as nama_kecamatan
    from aliases
    inner join wilayah as kelurahan on aliases.kode = kelurahan.kode and kelurahan.level = 4
    inner join wilayah as kecamatan on kelurahan.kode_induk = kecamatan.kode
),

kecamatan_aliases as (
    select
        aliases.alias_key as kecamatan_key,
        aliases.kode as kode_kecamatan
    from aliases
    inner join wilayah on aliases.kode = wilayah.kode and wilayah.level = 3
),

candidates as (
    select
        kelurahan.*,
        kecamatan_aliases.kecamatan_key
    from kelurahan
    inner join kecamatan_aliases on kelurahan.kode_kecamatan = kecamatan_aliases.kode_kecamatan
    union all
    select
        kelurahan.*,
        '' as kecamatan_key
    from kelurahan
),

-- a spelling that names two kelurahan (in one kecamatan, or anywhere in the region) resolves to neither
unambiguous as (
    select
        *,
        count(*) over (partition by kelurahan_key, kecamatan_key) as kelurahan_named
    -- one row per spelling, kecamatan spelling and kelurahan
    from (select distinct * from candidates) as distinct_candidates
)

select
    kelurahan_key,
    kecamatan_key,
    kode_kelurahan,
    nama_kelurahan,
    kode_kecamatan,
    nama_kecamatan
from unambiguous
where kelurahan_named = 1
