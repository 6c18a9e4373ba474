"""Retention on a real warehouse: batches delivered through the real pipeline, aged, purged by the rules.
Counts in audit.load_batch never change, the current version of every record stays."""

from __future__ import annotations

import pytest

from lintas import pipeline, warehouse
from lintas.load.raw import RunContext
from lintas.privacy import retention
from lintas_sandbox.standins.dapodik import DapodikServer
from tests.fixtures.dapodik_records import TOKEN, stamp, student
from tests.fixtures.dtks_files import good_file, member, write

CTX = RunContext("test_retention", "run-1")
RULES = retention.RetentionRules(dtks_keep_periods=2, superseded_after_days=90, rejected_after_days=30,
                                 quarantine_after_days=180)


def _rows(url, query, *args):
    with warehouse.connect(url) as conn:
        return conn.execute(query, args).fetchall()


def _age(url, days: int, source: str | None = None) -> None:
    with warehouse.connect(url) as conn:
        conn.execute("update audit.load_batch set loaded_at = loaded_at - make_interval(days => %s)"
                     " where %s::text is null or source = %s", (days, source, source))
        conn.execute("update quarantine.row_error set quarantined_at = quarantined_at - make_interval(days => %s)",
                     (days,))


def _batches(url, source):
    """batch id -> [source_ref, status, extracted, loaded, quarantined, rows_purged, purged]"""
    return {batch_id: rest for batch_id, *rest in _rows(
        url, "select batch_id, source_ref, status, rows_extracted, rows_loaded, rows_quarantined, rows_purged,"
             " purged_at is not null from audit.load_batch where source = %s order by batch_id", source)}


def _deliver_dtks(outbox, name, rows):
    write(outbox, name, rows)
    report = pipeline.extract_files("dinsos_dtks", CTX)
    try:
        pipeline.gate_source("dinsos_dtks", report, CTX)
    except pipeline.PipelineFailed:
        pass  # a batch the gate rejects, on purpose


def test_dtks_months_beyond_the_horizon_and_superseded_deliveries_go(warehouse_url, outbox):
    for period in ("2026-07", "2026-08", "2026-09"):
        good_file(outbox, period=period, count=20)
        pipeline.gate_source("dinsos_dtks", pipeline.extract_files("dinsos_dtks", CTX), CTX)
    # September re-delivered with a correction: the first September batch is superseded
    _deliver_dtks(outbox, "DTKS_3573_202609.csv", [member(i, "2026-09", ALAMAT="JL. BARU") for i in range(20)])
    # October arrives with Excel-mangled NIKs: the gate rejects it, its rows stay in raw for the investigation
    _deliver_dtks(outbox, "DTKS_3573_202610.csv", [member(i, "2026-10", NIK="3.57305E+15") for i in range(20)])
    before = _batches(warehouse_url, "dinsos_dtks")
    assert [b[1] for b in before.values()] == ["accepted"] * 4 + ["rejected"]

    fresh = retention.run(CTX, RULES, warehouse_url)  # nothing old enough yet
    assert fresh["raw_rows_purged"] == 0 and _batches(warehouse_url, "dinsos_dtks") == before

    _age(warehouse_url, 100)
    summary = retention.run(CTX, RULES, warehouse_url)
    after = _batches(warehouse_url, "dinsos_dtks")
    # July is beyond the two newest months, the first September is superseded, the rejected October is past 30 days
    assert summary["per_source"]["dinsos_dtks"] == 60 and summary["batches_touched"] == 3
    purged = [(b[0], b[1]) for b in after.values() if b[6]]
    assert purged == [("DTKS_3573_202607.csv", "accepted"), ("DTKS_3573_202609.csv", "accepted"),
                      ("DTKS_3573_202610.csv", "rejected")]
    assert [b[0] for b in after.values() if not b[6]] == ["DTKS_3573_202608.csv", "DTKS_3573_202609.csv"]
    for batch_id, (_, _, extracted, loaded, quarantined, rows_purged, was_purged) in after.items():
        assert before[batch_id][:5] == after[batch_id][:5], "counts unchanged"
        assert rows_purged == (loaded if was_purged else 0)
        raw_rows = _rows(warehouse_url, "select count(*) from raw.dinsos_dtks where _batch_id = %s", batch_id)[0][0]
        assert raw_rows == loaded - rows_purged and extracted == loaded + quarantined
    kept = _rows(warehouse_url, "select distinct periode, alamat from raw.dinsos_dtks where nik = %s",
                 member(1)["NIK"])
    assert sorted(kept) == [("2026-08", "JL. TLOGOMAS NO. 1"), ("2026-09", "JL. BARU")]

    again = retention.run(CTX, RULES, warehouse_url)
    assert again["raw_rows_purged"] == 0, "a second run finds nothing more"
    assert _rows(warehouse_url, "select count(*), sum(raw_rows_purged) from audit.retention_run") == [(3, 60)]


def test_incremental_sources_keep_every_records_newest_version(warehouse_url):
    students = [student(i) for i in range(1, 6)]
    with DapodikServer(students, token=TOKEN) as api:
        first = pipeline.extract_dapodik(CTX, base_url=api.base_url, token=TOKEN)
        pipeline.gate_source("disdik_peserta_didik", first, CTX)
        _age(warehouse_url, 200)  # the first pull is old ...
        # ... since then students 1 and 2 changed school (new versions); 3, 4, 5 did not change
        api.upsert([student(i, nama_sekolah="SMP NEGERI 3 MALANG", updated_at=stamp(100 + i).isoformat())
                    for i in (1, 2)])
        second = pipeline.extract_dapodik(CTX, base_url=api.base_url, token=TOKEN)
        pipeline.gate_source("disdik_peserta_didik", second, CTX)
    before = _batches(warehouse_url, "disdik_peserta_didik")
    assert len(before) == 2

    summary = retention.run(CTX, RULES, warehouse_url)
    assert summary["per_source"]["disdik_peserta_didik"] == 2
    after = _batches(warehouse_url, "disdik_peserta_didik")
    (old_id, old_batch), (new_id, new_batch) = after.items()
    assert old_batch[5:] == [2, True], "the old batch lost only its two superseded versions"
    assert new_batch[5:] == [0, False]
    for batch_id in after:
        assert after[batch_id][:5] == before[batch_id][:5]
    versions = _rows(warehouse_url, "select peserta_didik_id, nama_sekolah, _batch_id from raw.disdik_peserta_didik"
                                    " order by 1")
    assert [v[1] for v in versions] == ["SMP NEGERI 3 MALANG"] * 2 + ["SMP NEGERI 1 MALANG"] * 3
    assert [v[2] for v in versions] == [new_id] * 2 + [old_id] * 3, \
        "unchanged students keep their only version although its batch is old"


def test_quarantined_rows_lose_their_contents_not_their_counts(warehouse_url, outbox):
    write(outbox, "DTKS_3573_202610.csv", [member(i) for i in range(6)] + [member(6, IDDTKS="")])
    pipeline.extract_files("dinsos_dtks", CTX)
    _age(warehouse_url, 200)
    summary = retention.run(CTX, RULES, warehouse_url)
    assert summary["quarantine_rows_purged"] == 1
    rows = _rows(warehouse_url, "select row_number, field, rule, raw_record, purged_at is not null"
                                " from quarantine.row_error")
    assert rows == [(8, "IDDTKS", "required", None, True)]
    assert _rows(warehouse_url, "select rows_extracted, rows_loaded, rows_quarantined, rows_purged"
                                " from audit.load_batch") == [(7, 6, 1, 0)], "a batch not yet gated is never purged"


@pytest.mark.parametrize("rows_purged", [-1, 7])
def test_purge_counts_cannot_exceed_what_was_loaded(warehouse_url, outbox, rows_purged):
    good_file(outbox, count=6)
    pipeline.extract_files("dinsos_dtks", CTX)
    with warehouse.connect(warehouse_url) as conn, pytest.raises(Exception, match="load_batch_purge_within_loaded"):
        conn.execute("update audit.load_batch set rows_purged = %s", (rows_purged,))


def test_the_marts_rebuild_the_same_after_a_purge(warehouse_url, outbox):
    """What retention removes is what no mart reads: the next build publishes identical marts."""
    from lintas.transform import publish

    for period in ("2026-09", "2026-10"):
        good_file(outbox, period=period, count=24)
        pipeline.gate_source("dinsos_dtks", pipeline.extract_files("dinsos_dtks", CTX), CTX)
    _deliver_dtks(outbox, "DTKS_3573_202610.csv", [member(i, "2026-10", DESIL="1") for i in range(24)])  # corrected
    with DapodikServer([student(i) for i in range(1, 7)], token=TOKEN) as api:
        pipeline.gate_source("disdik_peserta_didik", pipeline.extract_dapodik(CTX, base_url=api.base_url,
                                                                             token=TOKEN), CTX)
        api.upsert([student(i, tingkat_kelas=9, updated_at=stamp(100 + i).isoformat()) for i in (2, 4)])
        pipeline.gate_source("disdik_peserta_didik", pipeline.extract_dapodik(CTX, base_url=api.base_url,
                                                                             token=TOKEN), CTX)
    pipeline.build_warehouse(CTX)
    before = publish.fingerprint(warehouse_url)
    assert before["dim_person"][0] > 0

    _age(warehouse_url, 100)
    summary = retention.run(CTX, RULES, warehouse_url)
    assert summary["per_source"] == {"dinsos_dtks": 24, "diskopindag_umkm": 0, "disdik_peserta_didik": 2,
                                     "dpmptsp_izin_usaha": 0, "dpmptsp_izin_usaha_kbli": 0}
    pipeline.build_warehouse(RunContext("test_retention", "run-2"))
    assert publish.fingerprint(warehouse_url) == before
