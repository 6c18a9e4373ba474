-- The region's administrative areas (var lintas_region_kabkota; Kota Malang by default): its province(s), kab/kota,
-- kecamatan and kelurahan/desa, Kemendagri and BPS codes side by side (BPS where the crosswalk covers the kab/kota).
with

wilayah as (
    select * from {{ ref('kode_wilayah_jawa_timur_35') }}
    where {{ lintas.in_region('kode') }}
),

crosswalk as (
    select * from {{ ref('crosswalk_kemendagri_bps_kota_malang') }}
)

select
    wilayah.kode as kode_wilayah,
    wilayah.kode_tanpa_titik,
    wilayah.level,
    wilayah.jenis,
    wilayah.nama,
    wilayah.kode_induk,
    -- province and kab/kota codes are the same in both systems; below that BPS numbers differ
    coalesce(crosswalk.kode_bps, case when wilayah.level <= 2 then wilayah.kode_tanpa_titik end) as kode_bps,
    coalesce(crosswalk.nama_bps, case when wilayah.level <= 2 then upper(wilayah.nama) end) as nama_bps,
    provinsi.kode as kode_provinsi,
    provinsi.nama as nama_provinsi,
    kota.kode as kode_kabkota,
    kota.nama as nama_kabkota,
    kecamatan.kode as kode_kecamatan,
    kecamatan.nama as nama_kecamatan,
    kelurahan.kode as kode_kelurahan,
    kelurahan.nama as nama_kelurahan
from wilayah
left join crosswalk on wilayah.kode = crosswalk.kode_kemendagri
left join wilayah as provinsi on provinsi.level = 1 and left(wilayah.kode, 2) = provinsi.kode
left join wilayah as kota on kota.level = 2 and wilayah.level >= 2 and left(wilayah.kode, 5) = kota.kode
left join wilayah as kecamatan
    on kecamatan.level = 3 and wilayah.level >= 3 and left(wilayah.kode, 8) = kecamatan.kode
left join wilayah as kelurahan on kelurahan.level = 4 and wilayah.level = 4 and wilayah.kode = kelurahan.kode
