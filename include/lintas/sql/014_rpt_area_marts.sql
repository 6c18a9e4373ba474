-- The area aggregates are published as rpt_* (they were mart_*). A warehouse published before holds them under the
-- old names until its next publish replaces the schema; renamed here, so that the access rules `prepare` applies
-- right after the migrations (lintas.access knows the area tables by name) keep the kecamatan row security, the
-- analysts' grants and the public's suppressed views on them in the meantime.
alter table if exists marts.mart_dtks_kelurahan_summary rename to rpt_dtks_kelurahan_summary;
alter table if exists marts.mart_kelurahan_needs rename to rpt_kelurahan_needs;
alter table if exists marts.mart_kecamatan_needs rename to rpt_kecamatan_needs;
