select
    members.*,
    lookup.kode_kelurahan,
    lookup.nama_kelurahan,
    lookup.kode_kecamatan,
    lookup.nama_kecamatan
from {{ ref('stg_dinsos__dtks_members') }} as members
left join {{ ref('int_wilayah__kelurahan_lookup') }} as lookup
    on {{ lintas.region_key('members.kelurahan') }} = lookup.kelurahan_key
