{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='periode',
    on_schema_change='fail',
    indexes=[{'columns': ['periode', 'batch_id']}],
) }}

-- DTKS members with their kelurahan resolved to a Kemendagri code. Incremental: the register grows by a full
-- snapshot (~185k rows for Kota Malang, one file per kab/kota of the region) every month, so a build only parses
-- the months whose accepted batch is not held yet (a new month, or a corrected re-delivery, which replaces its
-- month; the var rebuild_periode, the build DAG's `period`, adds one month to re-parse). After a change to the
-- alias seed, rebuild with --full-refresh.
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
        {% if var('rebuild_periode', none) %}
            or periode = '{{ var("rebuild_periode") }}'
        {% endif %}
    {% endif %}
)

select
    members.*,
    {{ lintas.kelurahan_lookup_column('kode_kelurahan') }} as kode_kelurahan,
    {{ lintas.kelurahan_lookup_column('nama_kelurahan') }} as nama_kelurahan,
    {{ lintas.kelurahan_lookup_column('kode_kecamatan') }} as kode_kecamatan,
    {{ lintas.kelurahan_lookup_column('nama_kecamatan') }} as nama_kecamatan
from members
{{ lintas.kelurahan_lookup_joins('members.kelurahan', 'members.kecamatan') }}
