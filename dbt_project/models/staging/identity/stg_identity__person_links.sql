select
    record_key,
    person_id,
    match_method,
    match_probability::float as match_probability,
    link_run_id
from {{ source('identity', 'person_record') }}
