-- Needs per kecamatan and rule: the kelurahan counts rolled up, zero rows included (every kecamatan x rule).
select
    max(as_of_date) as as_of_date,
    coalesce(kode_kecamatan, 'TIDAK DIKETAHUI') as kode_kecamatan,
    max(nama_kecamatan) as nama_kecamatan,
    rule_code,
    max(rule_level) as rule_level,
    max(acting_agency) as acting_agency,
    count(*) filter (where persons > 0 or households > 0) as kelurahan,
    sum(persons)::bigint as persons,
    sum(households)::bigint as households
from {{ ref('rpt_kelurahan_needs') }}
group by 2, 4
