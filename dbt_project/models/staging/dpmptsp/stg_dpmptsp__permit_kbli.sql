-- Current KBLI lines of permits: the newest accepted version per KBLI line id.
with

accepted_batches as (
    select batch_id
    from {{ source('audit', 'load_batch') }}
    where source = 'dpmptsp_izin_usaha_kbli' and status = 'accepted'
),

versions as (
    select
        raw_rows.*,
        row_number() over (
            partition by raw_rows.id
            order by raw_rows.updated_at::timestamp desc, raw_rows._batch_id desc, raw_rows._row_number desc
        ) as recency
    from {{ source('raw_dpmptsp', 'dpmptsp_izin_usaha_kbli') }} as raw_rows
    inner join accepted_batches on raw_rows._batch_id = accepted_batches.batch_id
),

renamed as (
    select
        id::bigint as izin_kbli_id,
        izin_id::bigint as izin_id,
        trim(kbli) as kbli,
        nama_kegiatan,
        upper(trim(skala_risiko)) as skala_risiko,
        updated_at::timestamp as updated_at,
        _batch_id as batch_id
    from versions
    where recency = 1
)

select * from renamed
