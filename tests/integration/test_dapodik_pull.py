"""Education channel end to end: the Dapodik stand-in (a real HTTP server) -> raw layer, incremental, gated."""

from __future__ import annotations

import pytest

from lintas import pipeline, settings, warehouse
from lintas.extract import dapodik
from lintas.load.raw import RunContext, last_watermark
from lintas_sandbox.standins.dapodik import DapodikServer, Faults
from tests.fixtures.dapodik_records import TOKEN, stamp, student

CTX = RunContext("lintas_extract_disdik_dapodik", "run-1")
SOURCE = "disdik_peserta_didik"


@pytest.fixture
def api(monkeypatch):
    server = DapodikServer([student(i) for i in range(40)], token=TOKEN).start()
    monkeypatch.setenv("LINTAS_DAPODIK_URL", server.base_url)
    monkeypatch.setenv("LINTAS_DAPODIK_TOKEN", TOKEN)
    settings.reload()
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


def test_a_repeated_page_is_rejected_whole_then_the_next_clean_pull_loads_everything(warehouse_url):
    with DapodikServer([student(i) for i in range(40)], token=TOKEN, page_cap=10) as api:
        first = pipeline.extract_dapodik(CTX, base_url=api.base_url, token=TOKEN)
        assert first["rows_loaded"] == 40
        assert pipeline.gate_source(SOURCE, first, CTX)["accepted"] == first["loaded"]
        with warehouse.connect(warehouse_url) as conn:
            watermark = last_watermark(conn, SOURCE)

        # 30 students change overnight; the API then serves page 2's records again as page 3
        api.upsert([student(100 + i, updated_at=stamp(100 + i).isoformat()) for i in range(30)])
        api.set_faults(Faults(repeat_pages={3: 2}))
        with pytest.raises(pipeline.PullRejected) as failure:
            pipeline.extract_dapodik(RunContext(CTX.dag_id, "run-2"), base_url=api.base_url, token=TOKEN)
        assert isinstance(failure.value, pipeline.FATAL_ERRORS), "a verdict on the data: no Airflow retry"
        # since = watermark - 10 min: students 29..39 and the 30 new ones, 41 in 5 pages of 10
        reason = ("incomplete pull: meta.total says 41, 31 distinct record(s) received; page 3 repeats page 2; "
                  "10 record(s) served again unchanged")
        assert reason in str(failure.value)
        assert _rows(warehouse_url, "select rejection_reason, rows_loaded, watermark, airflow_run_id"
                                    " from audit.load_batch where status = 'rejected'") == [(reason, 0, None, "run-2")]
        assert _rows(warehouse_url, "select count(*) from raw.disdik_peserta_didik") == [(40,)], "nothing stored"
        assert _rows(warehouse_url, "select count(*) from quarantine.row_error") == [(0,)]
        with warehouse.connect(warehouse_url) as conn:
            assert last_watermark(conn, SOURCE) == watermark, "the watermark stays"

        api.set_faults(None)  # the agency fixed its paging: the next scheduled run reads the same span again
        third = pipeline.extract_dapodik(RunContext(CTX.dag_id, "run-3"), base_url=api.base_url, token=TOKEN)
        assert (third["rows_loaded"], third["rejected"]) == (30, [])
        assert _rows(warehouse_url, "select count(distinct peserta_didik_id) from raw.disdik_peserta_didik") == [
            (70,)]
        assert pipeline.gate_source(SOURCE, third, CTX)["accepted"] == third["loaded"]


def test_an_overstated_total_is_rejected_and_nothing_is_stored(warehouse_url):
    with DapodikServer([student(i) for i in range(25)], token=TOKEN, page_cap=10,
                       faults=Faults(total_delta=250)) as api:
        with pytest.raises(pipeline.PullRejected, match="meta.total says 275, 25 distinct record"):
            pipeline.extract_dapodik(CTX, base_url=api.base_url, token=TOKEN)
    assert _rows(warehouse_url, "select status, rows_loaded from audit.load_batch") == [("rejected", 0)]
    assert _rows(warehouse_url, "select count(*) from raw.disdik_peserta_didik") == [(0,)]
