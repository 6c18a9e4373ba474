-- A person is in one kelurahan: every need of fct_person_needs is placed where dim_person places the person (the
-- kelurahan counts count those needs by their kelurahan: tests/integration/test_marts.py checks all three). Not
-- against rpt_kelurahan_needs here: when a build stops early, Airflow runs each model's tests alone, and a test of
-- fct_person_needs must not need a table built after it. Returns the disagreements (rule and kelurahan, no person).
select
    needs.rule_code,
    needs.kode_kelurahan,
    persons.kode_kelurahan as dim_person_kode_kelurahan
from {{ ref('fct_person_needs') }} as needs
inner join {{ ref('dim_person') }} as persons on needs.person_id = persons.person_id
where needs.kode_kelurahan is distinct from persons.kode_kelurahan
