with

latest_batch_per_period as (
    {{ lintas.latest_accepted_batches('dinsos_dtks', per='period, kode_kabkota') }}
),

source as (
    select raw_rows.*
    from {{ source('raw_dinsos', 'dinsos_dtks') }} as raw_rows
    inner join latest_batch_per_period as batches on raw_rows._batch_id = batches.batch_id
),

renamed as (
    select
        iddtks || '@' || periode as dtks_member_key,
        'dinsos_dtks:' || iddtks as record_key,
        iddtks,
        periode,
        {{ lintas.digits_only('no_kk') }} as no_kk,
        {{ lintas.digits_only('nik') }} as nik,
        coalesce({{ lintas.digits_only('nik') }} ~ '^\d{16}$', false) as nik_is_wellformed,
        nullif(trim(regexp_replace(nama, '\s+', ' ', 'g')), '') as nama,
        {{ lintas.parse_sex('jenis_kelamin') }} as jenis_kelamin,
        tempat_lahir,
        {{ lintas.parse_date('tanggal_lahir') }} as tanggal_lahir,
        upper(trim(hubungan_keluarga)) as hubungan_keluarga,
        nama_ibu_kandung,
        alamat,
        {{ lintas.parse_rt_of_cells('rt', 'rw') }} as rt,
        {{ lintas.parse_rw_of_cells('rw', 'rt') }} as rw,
        kelurahan,
        kecamatan,
        case when desil ~ '^\s*\d{1,2}\s*$' and trim(desil)::int between 1 and 10 then trim(desil)::int end
            as desil,
        {{ lintas.parse_yes_no('pkh') }} as is_pkh,
        {{ lintas.parse_yes_no('bpnt') }} as is_bpnt,
        {{ lintas.parse_yes_no('pbi_jk') }} as is_pbi_jk,
        _batch_id as batch_id,
        _row_number as source_row_number
    from source
)

select * from renamed
