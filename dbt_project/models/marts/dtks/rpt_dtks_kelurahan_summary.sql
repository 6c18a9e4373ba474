select
    periode,
    coalesce(kode_kelurahan, 'TIDAK DIKETAHUI') as kode_kelurahan,
    max(nama_kelurahan) as nama_kelurahan,
    max(nama_kecamatan) as nama_kecamatan,
    count(distinct no_kk) as families,
    count(*) as members,
    count(*) filter (where nik_is_wellformed) as members_with_wellformed_nik,
    count(*) filter (where is_pkh) as pkh_recipients,
    count(*) filter (where is_bpnt) as bpnt_recipients,
    count(*) filter (where is_pbi_jk) as pbi_jk_recipients,
    count(*) filter (where desil between 1 and 4) as members_desil_1_4
from {{ ref('int_dinsos__dtks_members_located') }}
group by 1, 2
