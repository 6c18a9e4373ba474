-- UMKM owner rows of the Diskopindag workbooks with their person.
select
    owners.*,
    links.person_id
from {{ ref('stg_diskopindag__umkm_owners') }} as owners
left join {{ ref('stg_identity__person_links') }} as links
    on owners.record_key = links.record_key
