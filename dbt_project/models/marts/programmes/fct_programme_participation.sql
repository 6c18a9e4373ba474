-- One row per person x programme x period, across agencies, with the source records as evidence.
-- Periods: the DTKS snapshot month; the month a student's KIP/PIP status was last stated; the month of a
-- training (its workbook's year if undated); the workbook year for cooperative membership and BPR loans; the
-- month a permit was issued.
with

dtks_members as (
    select * from {{ ref('int_dinsos__dtks_member_periods') }}
),

-- a tombstoned student has left the agency's data: no current participation to report
students as (
    select * from {{ ref('int_disdik__students_linked') }}
    where not is_deleted
),

umkm_owners as (
    select
        *,
        to_date(tahun, 'YYYY') as year_start,
        coalesce(date_trunc('month', tanggal_pelatihan)::date, to_date(tahun, 'YYYY')) as training_period_start,
        case when tanggal_pelatihan is null then tahun else to_char(tanggal_pelatihan, 'YYYY-MM') end
            as training_period,
        case when tanggal_pelatihan is null then interval '1 year - 1 day' else interval '1 month - 1 day' end
            as training_period_length
    from {{ ref('int_diskopindag__umkm_owners_linked') }}
),

permits as (
    select * from {{ ref('int_dpmptsp__permits_linked') }}
    where tanggal_terbit is not null
),

participation as (
    {%- for flag, programme in [('is_pkh', 'PKH'), ('is_bpnt', 'BPNT'), ('is_pbi_jk', 'PBI_JK')] %}
        select
            person_id,
            '{{ programme }}' as programme,
            periode as period,
            periode_start as period_start,
            (periode_start + interval '1 month - 1 day')::date as period_end,
            record_key,
            null::numeric as amount_rp,
            null::text as nib,
            null::text as kbli_codes,
            null::text as skala_usaha,
            true as is_active
        from dtks_members
        where {{ flag }}
        union all
    {%- endfor %}
    {%- for flag, programme in [('is_penerima_kip', 'KIP'), ('is_layak_pip', 'PIP_LAYAK')] %}
        select
            person_id,
            '{{ programme }}' as programme,
            to_char(updated_at, 'YYYY-MM') as period,
            date_trunc('month', updated_at)::date as period_start,
            (date_trunc('month', updated_at) + interval '1 month - 1 day')::date as period_end,
            record_key,
            null::numeric as amount_rp,
            null::text as nib,
            null::text as kbli_codes,
            null::text as skala_usaha,
            true as is_active
        from students
        where {{ flag }}
        union all
    {%- endfor %}
    select
        person_id,
        'PELATIHAN_UMKM' as programme,
        training_period as period,
        training_period_start as period_start,
        (training_period_start + training_period_length)::date as period_end,
        record_key,
        null::numeric as amount_rp,
        nib,
        null::text as kbli_codes,
        null::text as skala_usaha,
        true as is_active
    from umkm_owners
    where jenis_pelatihan is not null
    union all
    select
        person_id,
        'ANGGOTA_KOPERASI' as programme,
        tahun as period,
        year_start as period_start,
        (year_start + interval '1 year - 1 day')::date as period_end,
        record_key,
        null::numeric as amount_rp,
        nib,
        null::text as kbli_codes,
        null::text as skala_usaha,
        true as is_active
    from umkm_owners
    where nama_koperasi is not null or nomor_induk_koperasi is not null
    union all
    select
        person_id,
        'PINJAMAN_MODAL_BPR' as programme,
        tahun as period,
        year_start as period_start,
        (year_start + interval '1 year - 1 day')::date as period_end,
        record_key,
        nilai_pinjaman_rp as amount_rp,
        nib,
        null::text as kbli_codes,
        null::text as skala_usaha,
        true as is_active
    from umkm_owners
    where is_pinjaman_modal_bpr
    union all
    select
        person_id,
        'IZIN_USAHA' as programme,
        to_char(tanggal_terbit, 'YYYY-MM') as period,
        date_trunc('month', tanggal_terbit)::date as period_start,
        (date_trunc('month', tanggal_terbit) + interval '1 month - 1 day')::date as period_end,
        record_key,
        null::numeric as amount_rp,
        nib,
        array_to_string(kbli_codes, '|') as kbli_codes,
        skala_usaha,
        status = 'AKTIF' as is_active
    from permits
),

programmes as (
    select * from {{ ref('programmes') }}
),

-- where dim_person places the person: the kab/kota the participation is partitioned by
persons as (
    select
        person_id,
        kode_kelurahan
    from {{ ref('int_persons__best_attributes') }}
)

select
    md5(participation.person_id::text || '|' || participation.programme || '|' || participation.period)
        as participation_key,
    participation.person_id,
    participation.programme,
    programmes.agency,
    participation.period,
    {{ lintas.kabkota_of('persons.kode_kelurahan') }} as kode_kabkota,
    min(participation.period_start) as period_start,
    max(participation.period_end) as period_end,
    bool_or(participation.is_active) as is_active,
    sum(participation.amount_rp) as amount_rp,
    array_agg(distinct participation.nib) filter (where participation.nib is not null) as nibs,
    -- several permits in one month: every activity code of them, once (only permits carry codes)
    case when participation.programme = 'IZIN_USAHA' then array_remove(
        array(select distinct unnest(string_to_array(string_agg(participation.kbli_codes, '|'), '|'))), null
    ) end as kbli_codes,
    max(participation.skala_usaha) as skala_usaha,
    array_agg(participation.record_key order by participation.record_key) as evidence_record_keys
from participation
inner join programmes on participation.programme = programmes.programme
left join persons on participation.person_id = persons.person_id
where participation.person_id is not null and participation.period is not null
group by
    participation.person_id,
    participation.programme,
    programmes.agency,
    participation.period,
    persons.kode_kelurahan
