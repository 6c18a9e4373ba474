{#- Rows of an incrementally pulled raw table, from accepted batches only (rejected or not-yet-gated pulls never
    reach staging), each ranked by recency within its key: recency = 1 is the record's current version.
    `newest_first` orders versions, newest first; the raw table's lineage columns break ties. -#}
{% macro accepted_versions(source_name, table_name, key, newest_first) -%}
    select
        raw_rows.*,
        row_number() over (
            partition by raw_rows.{{ key }}
            order by {{ newest_first }}
        ) as recency
    from {{ source(source_name, table_name) }} as raw_rows
    inner join {{ source('audit', 'load_batch') }} as batches
        on raw_rows._batch_id = batches.batch_id
    where batches.source = '{{ table_name }}' and batches.status = 'accepted'
{%- endmacro %}

{#- The latest accepted batch of a file source for each value of `per` (a DTKS month and kab/kota, a UMKM workbook):
    a corrected re-delivery replaces the earlier one, rejected or not-yet-gated deliveries never count. -#}
{% macro latest_accepted_batches(table_name, per) -%}
    select
        batch_id,
        period,
        source_ref
    from (
        select
            batch_id,
            period,
            source_ref,
            row_number() over (partition by {{ per }} order by batch_id desc) as recency
        from {{ source('audit', 'load_batch') }}
        where source = '{{ table_name }}' and status = 'accepted'
    ) as accepted_batches
    where recency = 1
{%- endmacro %}
