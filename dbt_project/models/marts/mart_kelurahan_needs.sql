-- Needs per kelurahan and rule, for the Musyawarah Kelurahan: persons and households meeting each rule.
-- Needs whose kelurahan could not be resolved are counted under 'TIDAK DIKETAHUI' so totals reconcile.
with

person_needs as (
    select
        coalesce(kode_kelurahan, 'TIDAK DIKETAHUI') as kode_kelurahan,
        rule_code,
        count(*) as persons,
        count(distinct no_kk) as households
    from {{ ref('fct_person_needs') }}
    group by 1, 2
),

household_needs as (
    select
        coalesce(kode_kelurahan, 'TIDAK DIKETAHUI') as kode_kelurahan,
        rule_code,
        sum(members)::bigint as persons,
        count(*) as households
    from {{ ref('fct_household_needs') }}
    group by 1, 2
),

needs as (
    select * from person_needs
    union all
    select * from household_needs
)

select
    needs.kode_kelurahan,
    wilayah.nama_kelurahan,
    wilayah.kode_kecamatan,
    wilayah.nama_kecamatan,
    needs.rule_code,
    rules.level as rule_level,
    rules.description as rule_description,
    rules.acting_agency,
    needs.persons,
    needs.households
from needs
inner join {{ ref('need_rules') }} as rules on needs.rule_code = rules.rule_code
left join {{ ref('dim_wilayah') }} as wilayah on needs.kode_kelurahan = wilayah.kode_wilayah
