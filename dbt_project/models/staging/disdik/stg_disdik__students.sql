-- Current state of every student the agency has sent: the newest accepted version per peserta_didik_id.
-- Tombstones stay as rows (is_deleted) so a student who left the agency's data is visible as such.
with

versions as (
    {{ lintas.accepted_versions(
        'raw_disdik', 'disdik_peserta_didik', 'peserta_didik_id',
        'raw_rows.updated_at::timestamptz desc, raw_rows._batch_id desc, raw_rows._page desc, raw_rows._row_number desc'
    ) }}
),

renamed as (
    select
        'disdik_peserta_didik:' || peserta_didik_id as record_key,
        peserta_didik_id,
        {{ lintas.digits_only('nisn') }} as nisn,
        {{ lintas.digits_only('nik') }} as nik,
        coalesce({{ lintas.digits_only('nik') }} ~ '^\d{16}$', false) as nik_is_wellformed,
        {{ lintas.digits_only('no_kk') }} as no_kk,
        nullif(trim(regexp_replace(nama, '\s+', ' ', 'g')), '') as nama,
        {{ lintas.parse_sex('jenis_kelamin') }} as jenis_kelamin,
        tempat_lahir,
        {{ lintas.parse_date('tanggal_lahir') }} as tanggal_lahir,
        nama_ibu_kandung,
        alamat_jalan as alamat,
        {{ lintas.parse_rt_of_cells('rt', 'rw') }} as rt,
        {{ lintas.parse_rw_of_cells('rw', 'rt') }} as rw,
        kelurahan,
        kecamatan,
        {{ lintas.digits_only('npsn') }} as npsn,
        nama_sekolah,
        upper(trim(jenjang)) as jenjang,
        -- 7, '7' or a JSON number written 7.0
        case when tingkat_kelas ~ '^\s*\d{1,2}(\.0+)?\s*$' then trim(tingkat_kelas)::numeric::int end
            as tingkat_kelas,
        coalesce({{ lintas.parse_bool('penerima_kip') }}, false) as is_penerima_kip,
        no_kip,
        coalesce({{ lintas.parse_bool('layak_pip') }}, false) as is_layak_pip,
        updated_at::timestamptz as updated_at,
        coalesce({{ lintas.parse_bool('deleted') }}, false) as is_deleted,
        _batch_id as batch_id
    from versions
    where recency = 1
)

select * from renamed
