-- Current KBLI lines of permits: the newest accepted version per KBLI line id.
with

versions as (
    {{ lintas.accepted_versions(
        'raw_dpmptsp', 'dpmptsp_izin_usaha_kbli', 'id',
        'raw_rows.updated_at::timestamp desc, raw_rows._batch_id desc, raw_rows._row_number desc'
    ) }}
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
