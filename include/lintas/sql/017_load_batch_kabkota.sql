-- A region of several kab/kota (LINTAS_REGION_CODES): each kab/kota's Dinas Sosial delivers its own DTKS file a
-- month. The batch records which kab/kota it covers (null for deliveries covering the whole region: API pulls,
-- the licensing database, workbooks), so a kab/kota's file replaces only that kab/kota's earlier file of the
-- month (dbt macro latest_accepted_batches) and the raw gates bound it by that kab/kota's previous batch.
alter table audit.load_batch add column if not exists kode_kabkota text;
update audit.load_batch
   set kode_kabkota = substr(source_ref, 6, 2) || '.' || substr(source_ref, 8, 2)
 where source = 'dinsos_dtks' and kode_kabkota is null and source_ref ~* '^DTKS_\d{4}_\d{6}\.csv$';
