-- Business permits (current state) with their KBLI codes and the person responsible, where one is linked.
with

kbli as (
    select
        izin_id,
        array_agg(distinct kbli order by kbli) filter (where kbli is not null) as kbli_codes
    from {{ ref('stg_dpmptsp__permit_kbli') }}
    group by izin_id
)

select
    permits.*,
    kbli.kbli_codes,
    links.person_id
from {{ ref('stg_dpmptsp__permits') }} as permits
left join kbli on permits.izin_id = kbli.izin_id
left join {{ ref('stg_identity__person_links') }} as links
    on permits.record_key = links.record_key
