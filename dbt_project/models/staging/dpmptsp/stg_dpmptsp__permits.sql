-- Current state of every permit: the newest accepted version per id (permits are never deleted; status changes).
with

versions as (
    {{ lintas.accepted_versions(
        'raw_dpmptsp', 'dpmptsp_izin_usaha', 'id',
        'raw_rows.updated_at::timestamp desc, raw_rows._batch_id desc, raw_rows._row_number desc'
    ) }}
),

renamed as (
    select
        'dpmptsp_izin_usaha:' || id::bigint as record_key,
        id::bigint as izin_id,
        {{ lintas.digits_only('nib') }} as nib,
        {{ lintas.parse_date('tanggal_terbit') }} as tanggal_terbit,
        trim(jenis_pelaku_usaha) as jenis_pelaku_usaha,
        nama_usaha,
        {{ lintas.digits_only('nik_penanggung_jawab') }} as nik_penanggung_jawab,
        coalesce({{ lintas.digits_only('nik_penanggung_jawab') }} ~ '^\d{16}$', false) as nik_is_wellformed,
        nullif(trim(regexp_replace(nama_penanggung_jawab, '\s+', ' ', 'g')), '') as nama_penanggung_jawab,
        alamat_usaha,
        {{ lintas.parse_rt_rw('rt_rw') }} as rt,
        {{ lintas.parse_rw_of_rt_rw('rt_rw') }} as rw,
        kelurahan,
        {{ lintas.digits_only('kode_wilayah') }} as kode_wilayah,
        upper(trim(skala_usaha)) as skala_usaha,
        upper(trim(status)) as status,
        created_at::timestamp as created_at,
        updated_at::timestamp as updated_at,
        _batch_id as batch_id
    from versions
    where recency = 1
)

select * from renamed
