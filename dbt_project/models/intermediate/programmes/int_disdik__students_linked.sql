-- Dapodik students (current version of each) with their person.
select
    students.*,
    links.person_id
from {{ ref('stg_disdik__students') }} as students
left join {{ ref('stg_identity__person_links') }} as links
    on students.record_key = links.record_key
