"""The auditors' run report, rendered from audit rows the real pipeline wrote: content, links, and no personal data."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from lintas import cli, pipeline, settings, warehouse
from lintas.load.raw import RunContext
from lintas.report import collect, formatting, run_report
from lintas.transform import dbt
from tests.fixtures.dtks_files import HEADER, member, write
from tests.fixtures.umkm_workbooks import owner, write_workbook

DTKS = "lintas_extract_dinsos_dtks"
UMKM_RUN = RunContext("lintas_extract_diskopindag_umkm", "scheduled__2026-10-01T06:30:00+07:00")
SEPTEMBER = RunContext(DTKS, "scheduled__2026-09-01T06:00:00+07:00")
OCTOBER = RunContext(DTKS, "scheduled__2026-10-01T06:00:00+07:00")
BUILD = RunContext("lintas_build_warehouse", "asset_triggered__2026-10-01T06:05:00+07:00")

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source", "track", "embed"}


class _Balance(HTMLParser):
    """Every element opened is closed, in order (void elements and <x/> excepted)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.seen: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.seen.add(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()


def _assert_well_formed(text: str, required=("html", "head", "body", "main", "header", "section", "table", "svg")):
    parser = _Balance()
    parser.feed(text)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    assert set(required) <= parser.seen


def _row(text: str, section: str, needle: str) -> str:
    """The table row of a report section that mentions `needle`."""
    start = text.index(f'id="{section}"')
    rows = re.findall(r"<tr>.*?</tr>", text[start:text.index("</section>", start)])
    [row] = [r for r in rows if needle in r]
    return row


def _deliver(outbox_dtks: Path, outbox_umkm: Path) -> list[str]:
    """Run the real pipeline over hand-made deliveries; return every personal value delivered."""
    secrets: list[str] = []

    owners = [owner(i, NO=i + 1, KECAMATAN="LOWOKWARU") for i in range(9)]
    write_workbook(outbox_umkm / "UMKM_BINAAN_2026.xlsx", {"LOWOKWARU": owners})
    pipeline.gate_source("diskopindag_umkm", pipeline.extract_files("diskopindag_umkm", UMKM_RUN), UMKM_RUN)
    for o in owners:
        secrets += [o["NIK"], o["NAMA PEMILIK"], o["ALAMAT"], o["NAMA USAHA"],
                    o["TANGGAL LAHIR"].strftime("%d-%m-%Y"), o["TANGGAL LAHIR"].isoformat()]

    # September: a good snapshot with one row missing its IDDTKS and one of another month (quarantined)
    september = [member(i, "2026-09") for i in range(40)]
    september += [member(40, "2026-09", IDDTKS=""), member(41, "2026-09", PERIODE="2026-01")]
    write(outbox_dtks, "DTKS_3573_202609.csv", september)
    pipeline.gate_source("dinsos_dtks", pipeline.extract_files("dinsos_dtks", SEPTEMBER), SEPTEMBER)

    # October: NIKs mangled by Excel in half the rows (the gate rejects the batch), and a November file
    # without its NIK column (rejected at delivery)
    october = [member(i, NIK="3.57305E+15" if i % 2 else member(i)["NIK"]) for i in range(40)]
    write(outbox_dtks, "DTKS_3573_202610.csv", october)
    november = [member(i, "2026-11") for i in range(5)]
    write(outbox_dtks, "DTKS_3573_202611.csv", november, header=[h for h in HEADER if h != "NIK"])
    with pytest.raises(pipeline.PipelineFailed):
        pipeline.gate_source("dinsos_dtks", pipeline.extract_files("dinsos_dtks", OCTOBER), OCTOBER)

    for row in september + october + november:
        secrets += [row[k] for k in ("IDDTKS", "NIK", "NO_KK", "NAMA", "TANGGAL_LAHIR", "ALAMAT") if row[k]]
    return secrets


def test_report_tells_what_arrived_was_checked_failed_and_quarantined_without_personal_data(
        warehouse_url, outbox, outbox_for, tmp_path):
    secrets = _deliver(outbox, outbox_for("diskopindag"))
    # a real dbt build (DTKS staging and what it needs), recorded as the warehouse-build run records it
    try:
        outcome = dbt.run(["build", "--select", "+stg_dinsos__dtks_members"], warehouse_url)
    except dbt.DbtFailed as failure:
        outcome = failure.outcome
    dbt.record(outcome, dag_id=BUILD.dag_id, run_id=BUILD.run_id, url=warehouse_url)
    assert outcome.results, "dbt ran and reported its nodes"

    out = run_report.render(warehouse_url, out=tmp_path / "reports" / "index.html")
    text = out.read_text(encoding="utf-8")
    _assert_well_formed(text)

    # sources, runs and the verdict of each source's latest run
    for name in ("dinsos_dtks", "diskopindag_umkm", SEPTEMBER.run_id, OCTOBER.run_id, UMKM_RUN.run_id):
        assert name in text
    assert "ATTENTION NEEDED" in text  # October's DTKS run failed
    assert ">FAILED<" in _row(text, "verdicts", "dinsos_dtks") and OCTOBER.run_id in _row(text, "verdicts", "dinsos")
    assert ">PASSED<" in _row(text, "verdicts", "diskopindag_umkm")

    # what arrived: deliveries, statuses, counts, the contract rejection's reason
    for ref in ("DTKS_3573_202609.csv", "DTKS_3573_202610.csv", "DTKS_3573_202611.csv", "UMKM_BINAAN_2026.xlsx"):
        assert ref in text
    assert "ACCEPTED" in text and "REJECTED by the gate" in text and "REJECTED at delivery" in text
    assert "missing required column(s): NIK" in text

    # what failed: the NIK format check on October's batch, 20 of 40 (50%)
    assert re.search(r"<code>expect_column_values_to_match_regex</code></td><td><code>nik</code></td>.*?"
                     r'<td class="num">40</td><td class="num">20</td><td class="num">50.00%</td>', text)
    assert re.search(r"Checked: \d+ expectations \(\d+ critical, \d+ warning\)", text)

    # what was quarantined: counts per field and rule
    assert re.search(r'<code>IDDTKS</code></td><td><code>required</code></td><td class="num">1</td>', text)
    assert re.search(r'<code>PERIODE</code></td><td><code>matches_file_period</code></td><td class="num">1</td>',
                     text)

    # reconciliation: every batch OK (September: 42 = 40 + 2 + 0)
    reconciliation = text[text.index('id="reconciliation"'):text.index('id="data-docs"')]
    assert reconciliation.count(">OK<") == 4 and "BROKEN" not in reconciliation
    assert re.search(r'<td class="num">42</td><td class="num">40</td><td class="num">2</td>'
                     r'<td class="num">0</td><td class="num">42</td>', reconciliation)

    # the dbt build of the warehouse-build run
    assert BUILD.dag_id in text and "Warehouse build (dbt)" in text and "dbt invocation" in text

    # trends: inline SVG charts; October's NIK validity point at 50%, September's at 100%
    assert text.count("<svg") == 4
    assert "50.00% valid (20 of 40 unexpected)" in text and "100.00% valid (0 of 40 unexpected)" in text
    assert "gate threshold 90%" in text

    # Data Docs: a relative link that resolves to the index GX built
    href = re.search(r'<a href="([^"]+)">Open the Great Expectations Data Docs</a>', text)
    assert href and not href.group(1).startswith("/")
    assert (out.parent / unquote(href.group(1))).resolve().is_file()

    # self-contained: no script, nothing fetched
    external = re.sub(r'xmlns="http://www.w3.org/2000/svg"', "", text)
    assert "<script" not in text.lower() and "http://" not in external and "https://" not in external
    # no personal data: none of the delivered NIKs, names, IDDTKS, KK numbers, birth dates or addresses
    leaked = sorted({s for s in secrets if s in text})
    assert leaked == []


def test_failed_dbt_nodes_and_cli(warehouse_url, tmp_path, monkeypatch, capsys):
    outcome = dbt.DbtOutcome(command=["dbt", "build"], invocation_id="inv-1", results=[
        {"unique_id": "model.lintas.stg_dinsos__dtks_members", "status": "success", "execution_time": 0.2,
         "rows_affected": 40, "failures": None},
        {"unique_id": "test.lintas.unique_stg_dinsos__dtks_members_dtks_member_key", "status": "fail",
         "execution_time": 0.1, "rows_affected": None, "failures": 1},
        {"unique_id": "model.lintas.rpt_dtks_kelurahan_summary", "status": "skipped", "execution_time": 0,
         "rows_affected": None, "failures": None},
    ])
    dbt.record(outcome, dag_id=BUILD.dag_id, run_id=BUILD.run_id, url=warehouse_url)
    monkeypatch.setenv("LINTAS_REPORTS_DIR", str(tmp_path / "reports"))
    settings.reload()
    cli.main(["report", "--runs", "5"])
    out = Path(capsys.readouterr().out.strip())
    assert out == tmp_path / "reports" / "index.html"
    text = out.read_text(encoding="utf-8")
    _assert_well_formed(text, required=("html", "body", "main", "section", "table"))  # no batches: no charts
    assert "test.lintas.unique_stg_dinsos__dtks_members_dtks_member_key" in text
    assert "model.lintas.stg_dinsos__dtks_members</code>" not in text.split("Failed or warned nodes")[1]
    assert ">FAILED<" in _row(text, "verdicts", "warehouse build (dbt)") and "ATTENTION NEEDED" in text
    for status in ("success", "fail", "skipped"):
        assert f"<td>{status}</td>" in text


def _build(url: str, run_id: str, seconds: dict[str, float]) -> None:
    results = [{"unique_id": f"model.lintas.{m}", "status": "success", "execution_time": t, "rows_affected": 1,
                "failures": None} for m, t in seconds.items()]
    dbt.record(dbt.DbtOutcome(["dbt", "build"], f"inv-{run_id}", results), dag_id=BUILD.dag_id, run_id=run_id,
               url=url)


def test_report_shows_source_freshness_and_slow_models(warehouse_url, tmp_path):
    with warehouse.connect(warehouse_url) as conn:
        conn.execute("insert into audit.load_batch (source, source_ref, checksum, status, loaded_at) values"
                     " ('dinsos_dtks', 'DTKS_3573_202609.csv', 'a', 'accepted', now() - interval '50 days'),"
                     " ('disdik_peserta_didik', 'pull', 'b', 'accepted', now())")
    pipeline.check_source_freshness(BUILD)
    for run, dim_person in (("b1", 2.0), ("b2", 2.2), ("b3", 1.8), ("b4", 9.5)):  # b4: dim_person 4x slower
        _build(warehouse_url, run, {"dim_person": dim_person, "fct_person_needs": 3.0 if run != "b4" else 3.1})
    text = run_report.render(warehouse_url, out=tmp_path / "r.html").read_text(encoding="utf-8")
    _assert_well_formed(text, required=("html", "body", "main", "section", "table"))
    assert ">STALE<" in _row(text, "freshness", "dinsos_dtks") and "45 day" in _row(text, "freshness", "dinsos")
    assert ">FRESH<" in _row(text, "freshness", "disdik_peserta_didik")
    assert ">NO ACCEPTED DELIVERY<" in _row(text, "freshness", "dpmptsp_izin_usaha_kbli")
    slow = _row(text, "model-timings", "dim_person")
    assert "9.5" in slow and "2.0" in slow and "SLOWER THAN USUAL" in slow  # median of 2.0, 2.2, 1.8
    steady = _row(text, "model-timings", "fct_person_needs")
    assert "3.1" in steady and "SLOWER" not in steady
    timings = text[text.index('id="model-timings"'):]
    assert timings.index("dim_person") < timings.index("fct_person_needs")  # slowest first


def test_empty_warehouse_renders_a_valid_page(warehouse_url, tmp_path):
    text = run_report.render(warehouse_url, out=tmp_path / "empty.html", runs=3).read_text(encoding="utf-8")
    _assert_well_formed(text, required=("html", "head", "body", "main", "header", "section"))
    assert "NO RUNS RECORDED" in text and "No runs recorded yet" in text


def test_escapes_text_from_the_audit_tables(warehouse_url, tmp_path):
    with warehouse.connect(warehouse_url) as conn:
        conn.execute(
            "insert into audit.load_batch (source, source_ref, checksum, status, rejection_reason,"
            " airflow_dag_id, airflow_run_id) values ('dinsos_dtks', %s, 'x', 'rejected', %s, 'd', %s)",
            ("<b>DTKS</b>.csv", "header <script>alert(1)</script>", 'run"<i>'),
        )
        # a load outside Airflow (by hand, from the CLI) has no DAG or run id
        conn.execute("insert into audit.load_batch (source, source_ref, checksum, status, rows_extracted,"
                     " rows_loaded) values ('dinsos_dtks', 'DTKS_3573_202601.csv', 'y', 'accepted', 3, 3)")
    text = run_report.render(warehouse_url, out=tmp_path / "r.html").read_text(encoding="utf-8")
    _assert_well_formed(text)
    assert "<script" not in text and "<b>DTKS" not in text and 'run"<i>' not in text
    assert "&lt;b&gt;DTKS&lt;/b&gt;.csv" in text and "&lt;script&gt;" in text
    assert "outside Airflow" in text and "DTKS_3573_202601.csv" in _row(text, "reconciliation", "202601")


def test_runs_must_be_positive(warehouse_url):
    with pytest.raises(ValueError):
        collect.report_data(warehouse_url, runs=0)


def test_observed_values_that_are_not_numbers_are_not_shown():
    assert formatting.observed("0.95") == "0.95" and formatting.observed("1200") == "1,200"
    assert formatting.observed("0.6746031746031746") == "0.6746"
    assert "3573" not in formatting.observed("['3573051501800001']")
