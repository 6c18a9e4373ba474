{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='periode',
    on_schema_change='fail',
    indexes=[{'columns': ['periode', 'batch_id']}],
) }}

-- DTKS members with their kelurahan resolved to a Kemendagri code. Incremental: the register grows by a full
-- snapshot (~185k rows for Kota Malang) every month, so a build only parses the months whose accepted batch is
-- not held yet (a new month, or a corrected re-delivery, which replaces its month). After a change to the alias
-- seed, rebuild with --full-refresh.
with

members as (
    select * from {{ ref('stg_dinsos__dtks_members') }}
    {% if is_incremental() %}
        where periode in (
            select current_batches.periode
            from (
                select distinct
                    periode,
                    batch_id
                from {{ ref('stg_dinsos__dtks_members') }}
            ) as current_batches
            left join (
                select distinct
                    periode,
                    batch_id
                from {{ this }}
            ) as held
                on current_batches.periode = held.periode and current_batches.batch_id = held.batch_id
            where held.periode is null
        )
    {% endif %}
)

select
    members.*,
    lookup.kode_kelurahan,
    lookup.nama_kelurahan,
    lookup.kode_kecamatan,
    lookup.nama_kecamatan
from members
left join {{ ref('int_wilayah__kelurahan_lookup') }} as lookup
    on {{ lintas.region_key('members.kelurahan') }} = lookup.kelurahan_key
