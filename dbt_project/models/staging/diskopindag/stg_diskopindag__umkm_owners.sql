-- UMKM binaan rows from the latest accepted delivery of each workbook name (a corrected workbook re-sent under
-- the same name replaces the earlier one; workbooks with other names add to it).
with

latest_batch_per_workbook as (
    {{ lintas.latest_accepted_batches('diskopindag_umkm', per='source_ref') }}
),

source as (
    select
        raw_rows.*,
        batches.source_ref,
        batches.period,
        batches.source_ref || '!' || raw_rows._sheet || '!' || raw_rows._row_number as umkm_record_key
    from {{ source('raw_diskopindag', 'diskopindag_umkm') }} as raw_rows
    inner join latest_batch_per_workbook as batches on raw_rows._batch_id = batches.batch_id
),

renamed as (
    select
        'diskopindag_umkm:' || umkm_record_key as record_key,
        umkm_record_key,
        source_ref as workbook,
        _sheet as sheet,
        _row_number as source_row_number,
        period as tahun,
        nullif(trim(regexp_replace(nama_pemilik, '\s+', ' ', 'g')), '') as nama_pemilik,
        {{ lintas.digits_only('nik') }} as nik,
        coalesce({{ lintas.digits_only('nik') }} ~ '^\d{16}$', false) as nik_is_wellformed,
        -- a NIK typed as a number lost its 16th digit in Excel: it is corrupt even when it looks well-formed
        coalesce(_nik_cell_type = 'number', false) as nik_is_excel_number,
        {{ lintas.parse_sex('jenis_kelamin') }} as jenis_kelamin,
        {{ lintas.parse_date('tanggal_lahir') }} as tanggal_lahir,
        alamat,
        {{ lintas.parse_rt_rw('rt_rw') }} as rt,
        {{ lintas.parse_rw_of_rt_rw('rt_rw') }} as rw,
        kelurahan,
        kecamatan,
        nama_usaha,
        sektor,
        {{ lintas.digits_only('nib') }} as nib,
        nullif(trim(nama_koperasi), '') as nama_koperasi,
        {{ lintas.digits_only('nomor_induk_koperasi') }} as nomor_induk_koperasi,
        nullif(trim(jenis_pelatihan), '') as jenis_pelatihan,
        {{ lintas.parse_date('tanggal_pelatihan') }} as tanggal_pelatihan,
        coalesce({{ lintas.parse_yes_no('pinjaman_modal_bpr') }}, false) as is_pinjaman_modal_bpr,
        {{ lintas.parse_rupiah('nilai_pinjaman') }} as nilai_pinjaman_rp,
        _batch_id as batch_id
    from source
)

select * from renamed
