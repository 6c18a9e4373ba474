-- Needs per kecamatan and rule: the kelurahan counts rolled up.
select
    coalesce(kode_kecamatan, 'TIDAK DIKETAHUI') as kode_kecamatan,
    max(nama_kecamatan) as nama_kecamatan,
    rule_code,
    max(rule_level) as rule_level,
    max(acting_agency) as acting_agency,
    count(*) as kelurahan,
    sum(persons)::bigint as persons,
    sum(households)::bigint as households
from {{ ref('mart_kelurahan_needs') }}
group by 1, 3
