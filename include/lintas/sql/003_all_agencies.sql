-- Raw tables for education (Dapodik API), cooperatives/SMEs (UMKM workbooks) and licensing (DPMPTSP database),
-- plus what incremental pulls need: a watermark per batch and a count of re-sent rows that were not stored again.

alter table audit.load_batch add column if not exists rows_duplicate integer not null default 0;
alter table audit.load_batch add column if not exists watermark timestamptz;
alter table audit.load_batch drop constraint if exists load_batch_check;
alter table audit.load_batch add constraint load_batch_reconciles
    check (status = 'rejected' or rows_extracted = rows_loaded + rows_quarantined + rows_duplicate);

-- sheet name or API page of a quarantined row, where the row number alone does not locate it
alter table quarantine.row_error add column if not exists location text;

create table if not exists raw.disdik_peserta_didik (
    peserta_didik_id  text,
    nisn              text,
    nik               text,
    no_kk             text,
    nama              text,
    jenis_kelamin     text,
    tempat_lahir      text,
    tanggal_lahir     text,
    nama_ibu_kandung  text,
    alamat_jalan      text,
    rt                text,
    rw                text,
    kelurahan         text,
    kecamatan         text,
    npsn              text,
    nama_sekolah      text,
    jenjang           text,
    tingkat_kelas     text,
    penerima_kip      text,                   -- JSON true/false as text
    no_kip            text,
    layak_pip         text,
    updated_at        text,                   -- ISO-8601 as sent
    deleted           text,                   -- tombstone: the student left the agency's data
    _extra            jsonb,
    _page             integer not null,       -- API page the record came from
    _row_number       integer not null,       -- 1-based position in that page
    _row_hash         text not null,          -- md5 of the record's values: re-sent versions are stored once
    _batch_id         bigint not null references audit.load_batch (batch_id),
    _loaded_at        timestamptz not null default now(),
    primary key (_batch_id, _page, _row_number)
);
create index if not exists disdik_peserta_didik_version on raw.disdik_peserta_didik (peserta_didik_id, _row_hash);

create table if not exists raw.diskopindag_umkm (
    no                   text,
    nama_pemilik         text,
    nik                  text,
    jenis_kelamin        text,
    tanggal_lahir        text,
    alamat               text,
    rt_rw                text,
    kelurahan            text,
    kecamatan            text,
    nama_usaha           text,
    sektor               text,
    nib                  text,
    nama_koperasi        text,
    nomor_induk_koperasi text,
    jenis_pelatihan      text,
    tanggal_pelatihan    text,
    pinjaman_modal_bpr   text,
    nilai_pinjaman       text,
    _nik_cell_type       text,                -- 'number' (Excel kept 15 digits: corrupt) or 'text'
    _extra               jsonb,
    _sheet               text not null,
    _row_number          integer not null,    -- 1-based row of the sheet, as Excel shows it
    _batch_id            bigint not null references audit.load_batch (batch_id),
    _loaded_at           timestamptz not null default now(),
    primary key (_batch_id, _sheet, _row_number)
);

create table if not exists raw.dpmptsp_izin_usaha (
    id                    text,
    nib                   text,
    tanggal_terbit        text,
    jenis_pelaku_usaha    text,
    nama_usaha            text,
    nik_penanggung_jawab  text,
    nama_penanggung_jawab text,
    alamat_usaha          text,
    rt_rw                 text,
    kelurahan             text,
    kode_wilayah          text,
    skala_usaha           text,
    status                text,
    created_at            text,
    updated_at            text,
    _extra                jsonb,
    _row_number           integer not null,   -- position in the pull (ordered by updated_at, id)
    _row_hash             text not null,
    _batch_id             bigint not null references audit.load_batch (batch_id),
    _loaded_at            timestamptz not null default now(),
    primary key (_batch_id, _row_number)
);
create index if not exists dpmptsp_izin_usaha_version on raw.dpmptsp_izin_usaha (id, _row_hash);

create table if not exists raw.dpmptsp_izin_usaha_kbli (
    id                text,
    izin_id           text,
    kbli              text,
    nama_kegiatan     text,
    skala_risiko      text,
    updated_at        text,
    _extra            jsonb,
    _row_number       integer not null,
    _row_hash         text not null,
    _batch_id         bigint not null references audit.load_batch (batch_id),
    _loaded_at        timestamptz not null default now(),
    primary key (_batch_id, _row_number)
);
create index if not exists dpmptsp_izin_usaha_kbli_version on raw.dpmptsp_izin_usaha_kbli (id, _row_hash);
