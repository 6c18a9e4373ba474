"""The Dapodik API client against the real stand-in server on a thread: no HTTP mocking."""

import json
import re
import socket
from datetime import UTC, timedelta
from pathlib import Path

import httpx
import pytest

from lintas.extract import dapodik
from lintas.extract.contract import ContractError
from lintas_sandbox.standins.dapodik import DapodikServer, Faults
from tests.fixtures.dapodik_records import TOKEN, stamp, student

SQL = Path(dapodik.__file__).parents[1] / "sql" / "003_all_agencies.sql"


def as_dicts(delivery):
    return [dict(zip(dapodik.RAW_COLUMNS, row, strict=True)) for row in delivery.rows]


def ids(delivery) -> list[str]:
    return [row["peserta_didik_id"] for row in as_dicts(delivery)]


@pytest.fixture
def serve():
    """Factory: a started stand-in with the given records and faults; stopped after the test."""
    servers = []

    def start(records, faults=None, **kwargs):
        server = DapodikServer(records, token=TOKEN, faults=faults, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def recorder():
    sleeps: list[float] = []
    return sleeps, sleeps.append


def test_raw_columns_are_the_raw_tables_columns():
    block = re.search(r"create table if not exists raw\.disdik_peserta_didik \((.*?)\n\);", SQL.read_text(), re.S)
    table_columns = re.findall(r"^\s{4}(\w+)\s", block[1], re.M)
    lineage = {"_batch_id", "_loaded_at", "_row_hash", "primary"}  # set by the loader / not a column
    assert sorted(dapodik.RAW_COLUMNS) == sorted(c for c in table_columns if c not in lineage)
    assert dapodik.RAW_COLUMNS[:2] == ["_page", "_row_number"] and dapodik.RAW_COLUMNS[-1] == "_extra"


def test_full_pull_reproduces_all_records(serve):
    records = [student(i) for i in range(25)]
    api = serve(list(reversed(records)))  # the server orders by updated_at
    delivery = dapodik.pull(api.base_url, TOKEN, None)
    assert delivery.source == "disdik_peserta_didik" and delivery.period is None
    assert delivery.columns == dapodik.RAW_COLUMNS and delivery.key_columns == ("peserta_didik_id",)
    assert delivery.source_ref == "peserta-didik updated_since=start pages 1-1"
    assert delivery.errors == [] and delivery.extra_columns == [] and len(delivery.checksum) == 64
    rows = as_dicts(delivery)
    assert len(rows) == 25 and api.requests == 1
    for i, (row, record) in enumerate(zip(rows, records, strict=True)):
        assert (row["_page"], row["_row_number"], row["_extra"]) == (1, i + 1, None)
        for name, value in record.items():
            expected = None if value is None else value if isinstance(value, str) else json.dumps(value)
            assert row[name] == expected, name
    assert rows[3]["penerima_kip"] == "true" and rows[1]["penerima_kip"] == "false"
    assert rows[0]["tingkat_kelas"] == "8" and rows[1]["no_kip"] is None and rows[0]["nik"] == "3573051501100000"


def test_pagination_across_pages(serve):
    api = serve([student(i) for i in range(23)])
    delivery = dapodik.pull(api.base_url, TOKEN, None, per_page=5)
    rows = as_dicts(delivery)
    assert api.requests == 5 and delivery.source_ref.endswith("pages 1-5")
    assert ids(delivery) == [student(i)["peserta_didik_id"] for i in range(23)]
    assert [(r["_page"], r["_row_number"]) for r in rows[4:7]] == [(1, 5), (2, 1), (2, 2)]
    assert (rows[-1]["_page"], rows[-1]["_row_number"]) == (5, 3)


def test_updated_since_is_inclusive_and_timezone_aware(serve):
    records = [student(i) for i in range(20)]
    records.append(student(99, updated_at=stamp(10).isoformat()))  # equal timestamps happen
    api = serve(records)
    delivery = dapodik.pull(api.base_url, TOKEN, stamp(10), per_page=4)
    wanted = {student(i)["peserta_didik_id"] for i in [*range(10, 20), 99]}
    assert set(ids(delivery)) == wanted and len(delivery.rows) == 11
    assert delivery.source_ref == f"peserta-didik updated_since={stamp(10).isoformat()} pages 1-3"
    same_instant_in_utc = dapodik.pull(api.base_url, TOKEN, stamp(10).astimezone(UTC))
    assert set(ids(same_instant_in_utc)) == wanted
    naive_is_jakarta_time = dapodik.pull(api.base_url, TOKEN, stamp(10).replace(tzinfo=None))
    assert set(ids(naive_is_jakarta_time)) == wanted

    nothing = dapodik.pull(api.base_url, TOKEN, stamp(60))
    assert nothing.rows == [] and nothing.watermark is None and nothing.source_ref.endswith("pages 1-1")


def test_watermark_is_the_newest_updated_at_and_next_since_overlaps(serve):
    api = serve([student(i) for i in range(8)] + [student(8, updated_at="2026-10-01T01:30:00Z")])
    delivery = dapodik.pull(api.base_url, TOKEN, None, per_page=3)
    assert delivery.watermark == stamp(30) and delivery.watermark.tzinfo is not None  # 01:30Z = 08:30 WIB
    assert dapodik.next_since(delivery.watermark) == stamp(20)
    assert dapodik.next_since(delivery.watermark, timedelta(0)) == stamp(30)
    assert dapodik.next_since(None) is None


def test_incremental_pull_from_the_watermark(serve):
    api = serve([student(i) for i in range(10)])
    first = dapodik.pull(api.base_url, TOKEN, None)
    api.upsert([student(3, nama="NAMA BARU", updated_at=stamp(40).isoformat()), student(50, updated_at=stamp(41)
                                                                                                       .isoformat())])
    second = dapodik.pull(api.base_url, TOKEN, dapodik.next_since(first.watermark))
    # the overlap (10 minutes before 08:09) re-reads records 0..9 except the moved record 3
    assert ids(second)[-2:] == [student(3)["peserta_didik_id"], student(50)["peserta_didik_id"]]
    assert as_dicts(second)[-2]["nama"] == "NAMA BARU" and len(second.rows) == 11
    assert second.watermark == stamp(41)


def test_record_changed_mid_pull_holds_the_watermark_back(serve):
    """Offset paging skips a record when an earlier one moves to the end; the next pull must catch it."""
    api = serve([student(i) for i in range(10)], Faults(script={2: "429"}, retry_after=0))

    def agency_updates_record_1(_seconds):
        api.upsert([student(1, nama="DIUBAH", updated_at=stamp(100).isoformat())])

    first = dapodik.pull(api.base_url, TOKEN, None, per_page=3, sleep=agency_updates_record_1)
    skipped = student(3)["peserta_didik_id"]
    assert skipped not in ids(first) and ids(first).count(student(1)["peserta_didik_id"]) == 2
    assert first.watermark == stamp(1)  # not stamp(100): the next pull reads again from before the shift
    second = dapodik.pull(api.base_url, TOKEN, dapodik.next_since(first.watermark), per_page=3)
    assert skipped in ids(second)


def test_throttling_429_honours_retry_after(serve):
    api = serve([student(i) for i in range(12)], Faults(throttle_every=2, retry_after=1))
    sleeps, sleep = recorder()
    delivery = dapodik.pull(api.base_url, TOKEN, None, per_page=5, sleep=sleep)
    assert len(delivery.rows) == 12 and delivery.errors == []
    assert api.throttled == 2 and api.statuses[429] == 2 and api.requests == 5
    assert sleeps == [1.0, 1.0]


def test_throttling_with_real_sleep_and_capped_retry_after(serve):
    api = serve([student(i) for i in range(3)], Faults(script={1: "429"}, retry_after=0))
    assert len(dapodik.pull(api.base_url, TOKEN, None).rows) == 3 and api.throttled == 1

    api.set_faults(Faults(script={1: "429"}, retry_after=3600))
    sleeps, sleep = recorder()
    dapodik.pull(api.base_url, TOKEN, None, max_retry_after=2.5, sleep=sleep)
    assert sleeps == [2.5]


def test_server_errors_are_retried(serve):
    api = serve([student(i) for i in range(9)], Faults(script={1: "500", 2: "502", 4: "503"}))
    delivery = dapodik.pull(api.base_url, TOKEN, None, per_page=4, base_delay=0.01)  # real (tiny) sleeps
    assert ids(delivery) == [student(i)["peserta_didik_id"] for i in range(9)]
    assert api.errors_injected == 3 and api.requests == 6


def test_persistent_server_errors_fail_after_bounded_attempts(serve):
    api = serve([student(i) for i in range(3)], Faults(error_rate=1.0, seed=7))
    sleeps, sleep = recorder()
    with pytest.raises(dapodik.ApiUnavailable) as failure:
        dapodik.pull(api.base_url, TOKEN, None, attempts=3, base_delay=1.0, sleep=sleep)
    message = str(failure.value)
    assert "/api/v1/peserta-didik page 1" in message and "after 3 attempt(s)" in message
    assert re.search(r"last: HTTP 50[023]", message) and TOKEN not in message
    assert api.requests == 3 and api.errors_injected == 3
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0  # exponential, jittered


def test_unreachable_api_fails_after_bounded_attempts():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps, sleep = recorder()
    with pytest.raises(dapodik.ApiUnavailable, match=r"after 2 attempt\(s\) \(last: ConnectError\)"):
        dapodik.pull(f"http://127.0.0.1:{port}", TOKEN, None, attempts=2, sleep=sleep)
    assert len(sleeps) == 1


def test_bad_token_fails_at_once_without_naming_the_token(serve):
    api = serve([student(i) for i in range(3)], Faults(error_rate=1.0))
    sleeps, sleep = recorder()
    wrong = "wrong-token-123456"
    with pytest.raises(dapodik.ApiAuthError) as failure:
        dapodik.pull(api.base_url, wrong, None, sleep=sleep)
    message = str(failure.value)
    assert api.requests == 1 and api.statuses[401] == 1 and sleeps == []
    assert "HTTP 401" in message and f"{api.base_url}/api/v1/peserta-didik" in message
    assert wrong not in message and TOKEN not in message
    assert failure.value.__cause__ is None and failure.value.__context__ is None


def test_unusable_token_fails_before_any_request_without_naming_it(serve):
    api = serve([student(0)])
    with pytest.raises(dapodik.ApiRequestError, match="token is empty or has characters") as failure:
        dapodik.pull(api.base_url, "geheim\u00e9-token", None)
    assert "geheim" not in str(failure.value) and api.requests == 0
    assert len(dapodik.pull(api.base_url, f"  {TOKEN}\n", None).rows) == 1  # surrounding whitespace is dropped


def test_other_client_errors_are_fatal(serve):
    api = serve([student(0)])
    with pytest.raises(dapodik.ApiRequestError, match="HTTP 404, not retried"):
        dapodik.pull(api.base_url + "/wrong-prefix", TOKEN, None)
    assert api.requests == 1
    with pytest.raises(ValueError, match="per_page"):
        dapodik.pull(api.base_url, TOKEN, None, per_page=1001)


def test_server_checks_token_and_parameters(serve):
    api = serve([student(i) for i in range(3)])
    url = api.base_url + "/api/v1/peserta-didik"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    no_token = httpx.get(url)
    assert no_token.status_code == 401 and no_token.json()["error"] == "unauthorized"
    assert httpx.get(url, params={"per_page": 1001}, headers=auth).status_code == 400
    assert httpx.get(url, params={"page": 0}, headers=auth).status_code == 400
    assert httpx.get(url, params={"updated_since": "kemarin"}, headers=auth).status_code == 400
    body = httpx.get(url, params={"page": 2, "per_page": 2}, headers=auth).json()
    assert body["meta"] == {"page": 2, "per_page": 2, "total": 3, "total_pages": 2} and len(body["data"]) == 1
    assert httpx.get(url, headers=auth).json()["meta"]["per_page"] == 100


def test_tombstones_booleans_numbers_and_blanks_become_text(serve):
    api = serve([
        student(0, deleted=True, layak_pip=False, tingkat_kelas=7, nama="  SISWA  ", no_kip="  ", rt=5),
        student(1),
    ])
    row = as_dicts(dapodik.pull(api.base_url, TOKEN, None))[0]
    assert (row["deleted"], row["layak_pip"], row["penerima_kip"]) == ("true", "false", "true")
    assert (row["tingkat_kelas"], row["rt"], row["nama"], row["no_kip"]) == ("7", "5", "SISWA", None)


def test_a_tombstone_with_only_its_id_updated_at_and_deleted_is_kept(serve):
    short = {"peserta_didik_id": student(1)["peserta_didik_id"], "updated_at": stamp(1).isoformat(), "deleted": True}
    not_deleted = {"peserta_didik_id": student(2)["peserta_didik_id"], "updated_at": stamp(2).isoformat(),
                   "deleted": False}
    delivery = dapodik.pull(serve([student(0), short, not_deleted]).base_url, TOKEN, None)
    rows = {row["peserta_didik_id"]: row for row in as_dicts(delivery)}
    assert set(rows) == {student(0)["peserta_didik_id"], short["peserta_didik_id"]}
    assert rows[short["peserta_didik_id"]]["deleted"] == "true" and rows[short["peserta_didik_id"]]["nisn"] is None
    # a record that is not a tombstone still needs every field
    assert [(e.field, e.rule) for e in delivery.errors] == [("nisn", "field_missing")]

    # a pull of short tombstones only says nothing of which fields the agency sends: not "absent from every record"
    only_tombstones = dapodik.pull(serve([short]).base_url, TOKEN, None)
    assert len(only_tombstones.rows) == 1 and only_tombstones.errors == []


def test_unknown_fields_go_to_extra_and_are_reported(serve):
    api = serve([student(0, kode_pos="65111", Status_Aktif=True), student(1)])
    delivery = dapodik.pull(api.base_url, TOKEN, None)
    rows = as_dicts(delivery)
    assert delivery.extra_columns == ["kode_pos", "Status_Aktif"] and delivery.errors == []
    assert json.loads(rows[0]["_extra"]) == {"kode_pos": "65111", "Status_Aktif": True}
    assert rows[1]["_extra"] is None


def test_field_names_match_case_insensitively(serve):
    record = student(0)
    record["  NISN "] = record.pop("nisn")
    api = serve([record, student(1)])
    delivery = dapodik.pull(api.base_url, TOKEN, None)
    assert delivery.errors == [] and as_dicts(delivery)[0]["nisn"] == "0000000000"


def test_field_absent_from_every_record_rejects_the_pull(serve):
    records = [student(i) for i in range(4)]
    for record in records:
        record["nisn_siswa"] = record.pop("nisn")  # renamed by the agency
        del record["layak_pip"]
    api = serve(records)
    with pytest.raises(ContractError) as failure:
        dapodik.pull(api.base_url, TOKEN, None, per_page=2)
    assert failure.value.reason.startswith("field(s) absent from every record: nisn, layak_pip")
    assert failure.value.source_ref == "peserta-didik updated_since=start pages 1-2"
    assert "0000000001" not in str(failure.value)


def test_field_absent_from_some_records_quarantines_them(serve):
    records = [student(i) for i in range(5)]
    del records[2]["nisn"]
    api = serve(records)
    delivery = dapodik.pull(api.base_url, TOKEN, None, per_page=2)
    assert len(delivery.rows) == 4 and len(delivery.errors) == 1
    error = delivery.errors[0]
    assert (error.field, error.rule, error.location, error.row_number) == ("nisn", "field_missing", "page 2", 1)
    assert json.loads(error.raw_record) == records[2]


def test_records_without_id_or_valid_updated_at_are_quarantined(serve):
    api = serve([
        student(0),
        student(1, peserta_didik_id=None),
        student(2, peserta_didik_id="   "),
        student(3, updated_at="kemarin sore"),
        student(4, updated_at="2026-10-01"),  # a date is not a timestamp
        student(5, updated_at=None),
        student(6),
    ])
    delivery = dapodik.pull(api.base_url, TOKEN, None)
    assert ids(delivery) == [student(0)["peserta_didik_id"], student(6)["peserta_didik_id"]]
    found = sorted((e.field, e.rule) for e in delivery.errors)
    assert found == [("peserta_didik_id", "required"), ("peserta_didik_id", "required"),
                     ("updated_at", "required"), ("updated_at", "timestamp"), ("updated_at", "timestamp")]
    for error in delivery.errors:
        assert error.location == "page 1" and error.row_number >= 1
        described = error.describe(delivery.source_ref)
        assert f"pages 1-1 page 1 row {error.row_number} field {error.field}: " in described
        assert "SISWA" not in error.reason and "kemarin" not in error.reason
        assert json.loads(error.raw_record)["nama"].startswith("SISWA NOMOR")
        assert ", " not in error.raw_record  # compact JSON
    assert delivery.watermark == stamp(6)


def test_same_data_gives_the_same_checksum(serve):
    api = serve([student(i) for i in range(7)])
    first = dapodik.pull(api.base_url, TOKEN, None)
    again = dapodik.pull(api.base_url, TOKEN, None, per_page=3)
    assert first.checksum == again.checksum
    api.upsert([student(2, nama="BERUBAH")])
    assert dapodik.pull(api.base_url, TOKEN, None).checksum != first.checksum


@pytest.mark.parametrize("fault", ["truncated", "no_meta"])
def test_malformed_page_breaks_the_contract(serve, fault):
    api = serve([student(i) for i in range(6)], Faults(script={2: fault}))
    with pytest.raises(ContractError, match="page 2: response"):
        dapodik.pull(api.base_url, TOKEN, None, per_page=2)
    assert api.faults_injected[fault] == 1


def test_serves_a_jsonl_file_and_rereads_it_when_it_changes(tmp_path):
    path = tmp_path / "peserta_didik.jsonl"
    path.write_text("".join(json.dumps(student(i)) + "\n" for i in range(4)) + "\n", encoding="utf-8")
    with DapodikServer.from_jsonl(path, token=TOKEN, watch=True) as api:
        assert len(dapodik.pull(api.base_url, TOKEN, None).rows) == 4
        path.write_text("".join(json.dumps(student(i)) + "\n" for i in range(6)), encoding="utf-8")
        assert len(dapodik.pull(api.base_url, TOKEN, None).rows) == 6
    with pytest.raises(RuntimeError, match="not started"):
        _ = api.base_url


# -- incomplete or inconsistent paging: rejected whole, reasons in counts only ---------------------------------------

def _incomplete(api, **kwargs) -> str:
    with pytest.raises(dapodik.PullIncomplete) as failure:
        dapodik.pull(api.base_url, TOKEN, None, **kwargs)
    assert isinstance(failure.value, ContractError), "handled like any contract breach: recorded, nothing stored"
    reason = failure.value.reason
    assert "00000000-0000-4000" not in reason and "SISWA" not in reason and "357305" not in reason
    return reason


def test_a_repeated_page_rejects_the_pull(serve):
    api = serve([student(i) for i in range(23)], Faults(repeat_pages={3: 2}))
    reason = _incomplete(api, per_page=5)
    assert reason == ("incomplete pull: meta.total says 23, 18 distinct record(s) received; page 3 repeats page 2; "
                      "5 record(s) served again unchanged")
    assert api.faults_injected["repeat_page"] == 1 and api.requests == 5


def test_an_overstated_total_rejects_the_pull(serve):
    api = serve([student(i) for i in range(23)], Faults(total_delta=10))
    reason = _incomplete(api, per_page=5)
    assert reason.startswith("incomplete pull: meta.total says 33, 23 distinct record(s) received; "
                             "23 record(s) received in 7 page(s); ")
    assert "page 5 has 3 record(s), fewer than per_page 5, before the last page 7" in reason
    assert "page 6 has 0 record(s)" in reason


def test_records_dropped_from_a_page_reject_the_pull(serve):
    api = serve([student(i) for i in range(23)], Faults(drop_records={2: 2}))
    reason = _incomplete(api, per_page=5)
    assert reason == ("incomplete pull: meta.total says 23, 21 distinct record(s) received; 21 record(s) received in "
                      "5 page(s); page 2 has 3 record(s), fewer than per_page 5, before the last page 5")


def test_a_total_changing_mid_pull_rejects_it_at_that_page(serve):
    api = serve([student(i) for i in range(23)], Faults(total_changes={3: 1}))
    reason = _incomplete(api, per_page=5)
    assert reason.startswith("incomplete pull: meta.total says 23, 10 distinct record(s) received; "
                             "meta.total changed from 23 to 24 at page 3")
    assert api.requests == 9, "each reading stops at the page contradicting the first; read 3 times, then rejected"
    assert api.faults_injected["wrong_total"] == 3


def test_a_record_inserted_behind_the_offset_mid_pull_makes_the_pull_read_again(serve):
    """A school syncs a record with an old updated_at while we page: everything after it slides one place on."""
    api = serve([student(i) for i in range(10)], Faults(script={2: "429"}, retry_after=0))

    def school_syncs_an_old_record(_seconds):
        api.upsert([student(77, updated_at=(stamp(0) - timedelta(days=1)).isoformat())])

    delivery = dapodik.pull(api.base_url, TOKEN, None, per_page=3, sleep=school_syncs_an_old_record)
    assert sorted(ids(delivery)) == sorted(student(i)["peserta_didik_id"] for i in [*range(10), 77])
    assert api.requests == 3 + 4, "page 1, page 2 throttled then again (meta.total now 11), pages 1-4 again"
    assert delivery.source_ref.endswith("pages 1-4")
    with pytest.raises(dapodik.PullIncomplete, match="meta.total changed from 11 to 12 at page 2"):
        api.set_faults(Faults(script={2: "429"}, retry_after=0))
        api.reset_counters()
        dapodik.pull(api.base_url, TOKEN, None, per_page=3, restarts=0, sleep=lambda _: api.upsert(
            [student(78, updated_at=(stamp(0) - timedelta(days=1)).isoformat())]))


def test_a_record_updated_mid_pull_is_a_new_version_not_a_fault(serve):
    api = serve([student(i) for i in range(10)], Faults(script={2: "429"}, retry_after=0))
    updated = []

    def agency_updates_record_1(_seconds):
        api.upsert([student(1, nama="DIUBAH", updated_at=stamp(100).isoformat())])
        updated.append(True)

    delivery = dapodik.pull(api.base_url, TOKEN, None, per_page=3, sleep=agency_updates_record_1)
    assert updated and len(delivery.rows) == 10, "both versions of record 1 kept, counted against meta.total"
    assert [r["nama"] for r in as_dicts(delivery) if r["peserta_didik_id"] == student(1)["peserta_didik_id"]] == [
        "SISWA NOMOR 1", "DIUBAH"]


def test_ledger_classifies_repeats_by_updated_at():
    from lintas.extract.paging import PageLedger

    ledger = PageLedger(requested_per_page=2)
    assert ledger.page(1, total=4, total_pages=2, per_page=2, records=2, digest=b"p1")
    assert ledger.record("a", b"a1", stamp(1)) == "new" and ledger.record("b", b"b1", stamp(2)) == "new"
    assert ledger.page(2, total=4, total_pages=2, per_page=2, records=2, digest=b"p2")
    assert ledger.record("a", b"a2", stamp(0)) == "stale", "other values, older updated_at"
    assert ledger.record("b", b"b2", stamp(5)) == "moved"
    assert ledger.distinct == 2 and ledger.received == 4
    assert ledger.reason() == ("incomplete pull: meta.total says 4, 2 distinct record(s) received; "
                               "1 record(s) served again with other values but no newer updated_at")
    for pages in (0, 1):  # an empty result: no page to some paginators, one empty page to others
        empty = PageLedger(requested_per_page=1000)
        assert empty.page(1, total=0, total_pages=pages, per_page=1000, records=0, digest=b"")
        assert empty.reason() is None, pages
    overstated = PageLedger(requested_per_page=1000)
    overstated.page(1, total=0, total_pages=2, per_page=1000, records=0, digest=b"")
    assert "meta.total_pages says 2, but 0 record(s)" in overstated.reason()
    inconsistent = PageLedger(requested_per_page=10)
    inconsistent.page(1, total=25, total_pages=2, per_page=None, records=10, digest=b"x")
    assert "meta.total_pages says 2, but 25 record(s) at 10 per page need 3" in inconsistent.reason()


def test_a_server_capping_per_page_is_followed_by_its_meta(serve):
    api = serve([student(i) for i in range(23)], page_cap=10)
    delivery = dapodik.pull(api.base_url, TOKEN, None, per_page=1000)
    assert len(delivery.rows) == 23 and api.requests == 3 and delivery.source_ref.endswith("pages 1-3")
