{{ config(indexes=[{'columns': ['person_id'], 'unique': True}, {'columns': ['no_kk']}]) }}

-- Each person's current family card (No. KK): the most recent month any source stated one, the welfare register
-- first within a month. A person whose KK changed (marriage, split card) follows the newest card.
with

stated as (
    select
        person_id,
        no_kk,
        hubungan_keluarga,
        periode_start as observed_on,
        1 as source_rank,
        record_key
    from {{ ref('int_dinsos__dtks_member_periods') }}
    where person_id is not null and no_kk ~ '^\d{16}$'
    union all
    select
        person_id,
        no_kk,
        null as hubungan_keluarga,
        updated_at::date as observed_on,
        2 as source_rank,
        record_key
    from {{ ref('int_disdik__students_linked') }}
    where person_id is not null and no_kk ~ '^\d{16}$' and not is_deleted
),

ranked as (
    select
        *,
        row_number() over (
            partition by person_id
            order by date_trunc('month', observed_on) desc, source_rank asc, record_key asc
        ) as recency
    from stated
)

select
    person_id,
    no_kk,
    hubungan_keluarga,
    observed_on as no_kk_observed_on,
    record_key as no_kk_record_key
from ranked
where recency = 1
