"""Education channel end to end: the Dapodik stand-in (a real HTTP server) -> raw layer, incremental, gated."""

from __future__ import annotations

import pytest

from lintas import pipeline, warehouse
from lintas.extract import dapodik
from lintas.load.raw import RunContext
from lintas.standins.dapodik import DapodikServer, Faults
from tests.fixtures.dapodik_records import TOKEN, stamp, student

CTX = RunContext("lintas_extract_disdik_dapodik", "run-1")
SOURCE = "disdik_peserta_didik"


@pytest.fixture
def api(monkeypatch):
    server = DapodikServer([student(i) for i in range(40)], token=TOKEN).start()
    monkeypatch.setenv("LINTAS_DAPODIK_URL", server.base_url)
    monkeypatch.setenv("LINTAS_DAPODIK_TOKEN", TOKEN)
    yield server
    server.stop()


def _rows(url, query):
    with warehouse.connect(url) as conn:
        return conn.execute(query).fetchall()


def _run(n: int) -> dict:
    return pipeline.extract_dapodik(RunContext(CTX.dag_id, f"run-{n}"))


def test_pull_lands_every_student_then_reruns_add_nothing(warehouse_url, api):
    first = _run(1)
    assert (first["rows_loaded"], first["rows_quarantined"], first["rejected"]) == (40, 0, [])
    again = _run(2)
    assert again["loaded"] == [] and again["rows_loaded"] == 0
    assert _rows(warehouse_url, "select count(*), count(distinct peserta_didik_id) from raw.disdik_peserta_didik"
                                "") == [(40, 40)]
    outcome = pipeline.gate_source(SOURCE, first, CTX)
    assert outcome["accepted"] == first["loaded"]


def test_changes_and_tombstones_arrive_as_new_versions(warehouse_url, api):
    _run(1)
    api.upsert([student(3, nama="SISWA NOMOR 3 PINDAH", updated_at=stamp(100).isoformat()),
                student(7, deleted=True, updated_at=stamp(100).isoformat()),
                student(40, updated_at=stamp(39).isoformat())])  # late arrival, timestamp inside the overlap
    second = _run(2)
    assert second["rows_loaded"] == 3
    assert second["rows_duplicate"] >= 1, "the overlap re-read records already held"
    versions = _rows(warehouse_url, "select peserta_didik_id, deleted from raw.disdik_peserta_didik"
                                    " where peserta_didik_id like '%000000000007' order by _batch_id")
    assert [v[1] for v in versions] == ["false", "true"]
    batches = _rows(warehouse_url, "select rows_extracted = rows_loaded + rows_duplicate + rows_quarantined,"
                                   " watermark from audit.load_batch order by batch_id")
    assert all(ok for ok, _ in batches)
    assert batches[1][1] > batches[0][1], "the watermark moved forward"


def test_throttling_and_server_errors_are_ridden_out(warehouse_url, api):
    api.set_faults(Faults(retry_after=0, script={1: "429", 2: "503", 3: "502"}))
    report = pipeline.extract_dapodik(CTX, base_url=api.base_url, token=TOKEN)
    assert report["rows_loaded"] == 40
    assert (api.throttled, api.errors_injected) == (1, 2)


def test_a_refused_token_is_fatal_and_loads_nothing(warehouse_url, api):
    with pytest.raises(dapodik.ApiAuthError) as failure:
        pipeline.extract_dapodik(CTX, base_url=api.base_url, token="not-the-token")
    assert "not-the-token" not in str(failure.value)
    assert isinstance(failure.value, pipeline.FATAL_ERRORS)
    assert _rows(warehouse_url, "select count(*) from audit.load_batch") == [(0,)]


def test_a_bad_record_is_quarantined_once_despite_overlapping_pulls(warehouse_url, api):
    api.upsert([student(50, updated_at="kemarin sore")])
    api.upsert([student(51, peserta_didik_id=None, updated_at=stamp(39).isoformat())])
    first = _run(1)
    assert (first["rows_loaded"], first["rows_quarantined"]) == (40, 2)
    assert _run(2)["loaded"] == [], "re-reading the record without an id in the overlap is not news"
    assert _rows(warehouse_url, "select field, rule, location from quarantine.row_error order by 1") == [
        ("peserta_didik_id", "required", "page 1"), ("updated_at", "timestamp", "page 1")]
