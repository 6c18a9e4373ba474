-- UMKM owner rows of the Diskopindag workbooks with their person.
select
    owners.*,
    'diskopindag_umkm:' || owners.umkm_record_key as record_key,
    links.person_id
from {{ ref('stg_diskopindag__umkm_owners') }} as owners
left join {{ ref('stg_identity__person_links') }} as links
    on 'diskopindag_umkm:' || owners.umkm_record_key = links.record_key
