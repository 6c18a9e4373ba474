-- A person is in one kelurahan: every need of fct_person_needs is placed where dim_person places the person, and
-- the kelurahan counts of person rules are those needs counted by dim_person's kelurahan. Returns the
-- disagreements (rule and kelurahan only, no person).
with

person_needs as (
    select
        needs.rule_code,
        needs.kode_kelurahan as need_kelurahan,
        persons.kode_kelurahan as person_kelurahan
    from {{ ref('fct_person_needs') }} as needs
    inner join {{ ref('dim_person') }} as persons on needs.person_id = persons.person_id
),

counted_by_person as (
    select
        coalesce(person_kelurahan, 'TIDAK DIKETAHUI') as kode_kelurahan,
        rule_code,
        count(*) as persons
    from person_needs
    group by 1, 2
),

area_counts as (
    select
        kode_kelurahan,
        rule_code,
        persons
    from {{ ref('rpt_kelurahan_needs') }}
    where rule_level = 'person'
)

select
    'need placed in another kelurahan than dim_person' as disagreement,
    rule_code,
    need_kelurahan as kode_kelurahan
from person_needs
where need_kelurahan is distinct from person_kelurahan
union all
select
    'kelurahan count differs from the needs counted by dim_person' as disagreement,
    coalesce(area_counts.rule_code, counted_by_person.rule_code) as rule_code,
    coalesce(area_counts.kode_kelurahan, counted_by_person.kode_kelurahan) as kode_kelurahan
from area_counts
full outer join counted_by_person
    on
        area_counts.kode_kelurahan = counted_by_person.kode_kelurahan
        and area_counts.rule_code = counted_by_person.rule_code
where coalesce(area_counts.persons, 0) <> coalesce(counted_by_person.persons, 0)
