-- Needs per kelurahan and rule, for the Musyawarah Kelurahan: persons and households meeting each rule, as of
-- the as-of date. Every kelurahan has a row for every rule, zero where nobody has the need, so a missing row
-- never stands for zero. Needs whose kelurahan could not be resolved are counted under 'TIDAK DIKETAHUI' so
-- totals reconcile.
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
),

-- every kelurahan of the city and the unresolved place, with or without needs
areas as (
    select kode_wilayah as kode_kelurahan
    from {{ ref('dim_wilayah') }}
    where level = 4
    union
    select 'TIDAK DIKETAHUI' as kode_kelurahan
    union
    select kode_kelurahan
    from needs
),

-- times every rule
grid as (
    select
        areas.kode_kelurahan,
        rules.rule_code
    from areas
    cross join {{ ref('need_rules') }} as rules
)

select
    {{ lintas.as_of_date() }} as as_of_date,
    grid.kode_kelurahan,
    wilayah.nama_kelurahan,
    wilayah.kode_kecamatan,
    wilayah.nama_kecamatan,
    grid.rule_code,
    rules.level as rule_level,
    rules.description as rule_description,
    rules.acting_agency,
    coalesce(needs.persons, 0)::bigint as persons,
    coalesce(needs.households, 0)::bigint as households
from grid
inner join {{ ref('need_rules') }} as rules on grid.rule_code = rules.rule_code
left join needs on grid.kode_kelurahan = needs.kode_kelurahan and grid.rule_code = needs.rule_code
left join {{ ref('dim_wilayah') }} as wilayah on grid.kode_kelurahan = wilayah.kode_wilayah
