-- Dapodik students (current version of each) with their person.
select
    students.*,
    'disdik_peserta_didik:' || students.peserta_didik_id as record_key,
    links.person_id
from {{ ref('stg_disdik__students') }} as students
left join {{ ref('stg_identity__person_links') }} as links
    on 'disdik_peserta_didik:' || students.peserta_didik_id = links.record_key
