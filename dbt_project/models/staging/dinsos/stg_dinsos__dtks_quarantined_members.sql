-- DTKS rows that the extractor quarantined, from the same batch per period that stg_dinsos__dtks_members
-- reads (the latest accepted one). A quarantined row is a member who was delivered but could not be used: the
-- register history must not mistake them for a member who left. iddtks is the key the extractor could read
-- (the row split by the header); raw_fields (only for rows without it) lets the next layer recognise a known
-- member in a row whose fields did not split.
with

latest_batch_per_period as (
    {{ lintas.latest_accepted_batches('dinsos_dtks', per='period, kode_kabkota') }}
),

source as (
    select
        row_errors.*,
        batches.period
    from {{ source('quarantine', 'row_error') }} as row_errors
    inner join latest_batch_per_period as batches on row_errors.batch_id = batches.batch_id
),

renamed as (
    select
        batch_id,
        row_number as source_row_number,
        period as periode,
        rule,
        field,
        nullif(trim(record_key), '') as iddtks,
        -- the raw line joined the parsed fields with the file's delimiter, ';' or '|'
        case
            when nullif(trim(record_key), '') is null
                then array(select trim(token) from unnest(regexp_split_to_array(raw_record, '[;|]')) as token)
        end as raw_fields
    from source
)

select * from renamed
