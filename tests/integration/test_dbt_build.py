"""dbt over gated raw batches: parsing of the contract's value forms, accepted-only staging, the mart."""

import pytest

from lintas import pipeline, warehouse
from lintas.load.raw import RunContext
from lintas.transform import dbt
from tests.fixtures.dtks_files import member, write

CTX = RunContext("test_dag", "run-dbt")


def test_staging_parses_contract_value_forms_and_mart_reconciles(warehouse_url, outbox):
    rows = [member(i) for i in range(40)]
    rows[0].update(TANGGAL_LAHIR="1990-02-28", JENIS_KELAMIN="PEREMPUAN", PKH="T", RT="RT.05/RW.02")
    rows[1].update(TANGGAL_LAHIR="31/12/1985", JENIS_KELAMIN="LAKI-LAKI", PKH="1", KELURAHAN="TASIKMADU")
    rows[2].update(TANGGAL_LAHIR="31-02-1990", DESIL="", KELURAHAN="KELURAHAN ANTAH")
    # RT and RW columns that hold the combined form (the contract's `005/002`, `RT.05/RW.02`)
    rows[3].update(RT="005/002", RW="")
    rows[4].update(RT="RT.05/RW.02", RW="RT.05/RW.02")
    rows[5].update(RT="", RW="007/003")
    # a Kemendagri code where the kelurahan name belongs, dotted or not, with or without its kecamatan
    rows[6].update(KELURAHAN="35.73.05.1012")
    rows[7].update(KELURAHAN="3573051012", KECAMATAN="")
    write(outbox, "DTKS_3573_202610.csv", rows)
    report = pipeline.extract_files("dinsos_dtks", CTX)
    pipeline.gate_source("dinsos_dtks", report, CTX)
    pipeline.build_warehouse()
    with warehouse.connect(warehouse_url) as conn:
        rt_rw = dict(conn.execute(
            "select iddtks, array[rt, rw] from staging.stg_dinsos__dtks_members"
            " where iddtks in ('ID000000', 'ID000003', 'ID000004', 'ID000005', 'ID000006')").fetchall())
        assert rt_rw == {"ID000000": [5, 2], "ID000003": [5, 2], "ID000004": [5, 2], "ID000005": [7, 3],
                         "ID000006": [5, 2]}
        parsed = {r[0]: r[1:] for r in conn.execute(
            "select iddtks, tanggal_lahir::text, jenis_kelamin, is_pkh, rt, desil, kode_kelurahan"
            " from intermediate.int_dinsos__dtks_members_located where iddtks in ('ID000000','ID000001','ID000002')")}
        assert parsed["ID000000"] == ("1990-02-28", "P", False, 5, 1, "35.73.05.1012")
        assert parsed["ID000001"] == ("1985-12-31", "L", True, 5, 2, "35.73.05.1012")
        assert parsed["ID000002"] == (None, "P", False, 5, None, None)  # not a calendar date; unknown kelurahan
        by_code = dict(conn.execute(
            "select iddtks, kode_kelurahan from intermediate.int_dinsos__dtks_members_located"
            " where iddtks in ('ID000006', 'ID000007')").fetchall())
        assert by_code == {"ID000006": "35.73.05.1012", "ID000007": "35.73.05.1012"}
        members, unknown = conn.execute(
            "select sum(members), sum(members) filter (where kode_kelurahan = 'TIDAK DIKETAHUI')"
            " from marts.rpt_dtks_kelurahan_summary").fetchone()
    assert (members, unknown) == (40, 1)


def test_rejected_batches_never_reach_staging(warehouse_url, outbox):
    write(outbox, "DTKS_3573_202609.csv", [member(i, "2026-09") for i in range(20)])
    pipeline.gate_source("dinsos_dtks", pipeline.extract_files("dinsos_dtks", CTX), CTX)
    write(outbox, "DTKS_3573_202610.csv", [member(i, JENIS_KELAMIN="?") for i in range(20)])
    try:
        pipeline.gate_source("dinsos_dtks", pipeline.extract_files("dinsos_dtks", CTX), CTX)
    except pipeline.PipelineFailed:
        pass
    pipeline.build_warehouse()
    with warehouse.connect(warehouse_url) as conn:
        periods = conn.execute("select distinct periode from staging.stg_dinsos__dtks_members").fetchall()
    assert periods == [("2026-09",)]


def test_failed_dbt_build_is_recorded_in_the_audit_trail(warehouse_url, outbox):
    write(outbox, "DTKS_3573_202610.csv", [member(i) for i in range(10)])
    pipeline.gate_source("dinsos_dtks", pipeline.extract_files("dinsos_dtks", CTX), CTX)
    # a duplicate register row in an accepted batch breaks staging's uniqueness test
    with warehouse.connect(warehouse_url) as conn:
        conn.execute("insert into raw.dinsos_dtks select iddtks, no_kk, nik, nama, jenis_kelamin, tempat_lahir,"
                     " tanggal_lahir, hubungan_keluarga, nama_ibu_kandung, alamat, rt, rw, kelurahan, kecamatan,"
                     " desil, pkh, bpnt, pbi_jk, periode, _extra, _batch_id, 999, now()"
                     " from raw.dinsos_dtks where _row_number = 2")
    with pytest.raises(dbt.DbtFailed, match="unique_stg_dinsos__dtks_members_dtks_member_key"):
        pipeline.build_warehouse(RunContext("test_dag", "run-broken"))
    with warehouse.connect(warehouse_url) as conn:
        statuses = dict(conn.execute("select unique_id, status from audit.dbt_run_result"
                                     " where airflow_run_id = 'run-broken'").fetchall())
    [failed] = [uid for uid, status in statuses.items() if status == "fail"]
    assert failed.startswith("test.lintas.unique_stg_dinsos__dtks_members_dtks_member_key")
    assert statuses["model.lintas.stg_dinsos__dtks_members"] == "success"


def test_dbt_docs_explain_the_warehouse_and_its_consumers(warehouse_url):
    page = dbt.generate_docs(warehouse_url).read_text(encoding="utf-8")
    assert "Lintas: the cross-agency social-welfare warehouse" in page  # the __overview__ page
    for exposure in ("exposure.lintas.analysts_guide", "exposure.lintas.run_report"):
        assert exposure in page
    for freshness_rule in ("loaded_at_query", "error_after"):
        assert freshness_rule in page
