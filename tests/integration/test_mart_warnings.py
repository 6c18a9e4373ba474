"""Every warning of the mart suites, calibrated on the generator's data (bench/bench_warnings.py, bench/README.md):
quiet on the generator's small city built end to end (the mart gate of its build; the second noise profile, the
one nearer the bars), and fired by a planted anomaly in a copy of the built mart (the mart's suite run on the copy,
as the mart gate runs it on the build schema).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from psycopg import sql

from lintas import pipeline, settings, warehouse
from lintas.load.raw import RunContext
from lintas.quality import gate

CTX = RunContext("lintas_build_warehouse", "run-mart-warnings")
TOKEN = "test-token-mart-warnings"  # the stand-in's token, not a secret


@pytest.fixture(scope="module")
def small_city(postgres_server_url, template_database, tmp_path_factory):
    """The generator's small city (second noise profile, two DTKS months): delivered, gated and built once."""
    from lintas_sandbox.demo import generate
    from lintas_sandbox.standins.dapodik import DapodikServer
    from lintas_sandbox.synth import izin as synth_izin
    from tests.conftest import fresh_database

    out = tmp_path_factory.mktemp("small-city")
    generate(out, "small", 1, "second")
    url = fresh_database(postgres_server_url, template_database)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAREHOUSE_URL", url)
        env.setenv("LINTAS_OUTBOX_DINSOS", str(out / "outbox" / "dinsos"))
        env.setenv("LINTAS_OUTBOX_DISKOPINDAG", str(out / "outbox" / "diskopindag"))
        settings.reload()
        reports = [pipeline.extract_files("dinsos_dtks", CTX), pipeline.extract_files("diskopindag_umkm", CTX)]
        with DapodikServer.from_jsonl(out / "sources" / "dapodik" / "peserta_didik.jsonl", token=TOKEN) as api:
            reports.append(pipeline.extract_dapodik(CTX, base_url=api.base_url, token=TOKEN))
        reports += list(pipeline.extract_izin(CTX, url=synth_izin.default_url(out)).values())
        for report in reports:
            pipeline.gate_source(report["source"], report, CTX)
        pipeline.build_warehouse(CTX)
    yield url
    warehouse.drop_database(url)


@dataclass(frozen=True)
class MartWarning:
    table: str
    description: str
    share: str  # SQL over {t}: the share the warning bounds, in percent
    plant: str  # SQL over {t}: the anomaly, beyond the threshold

    @property
    def suite(self) -> str:
        return gate.mart_suite(self.table)


# Observed on the generator's data: bench/README.md "Warning thresholds".
MART_WARNINGS = [
    # a linkage model joining strangers: 3% of persons carry two valid NIKs that disagree
    MartWarning("dim_person", "at most 2% of persons with more than one valid NIK",
                "select 100.0 * count(*) filter (where distinct_valid_niks > 1) / count(*) from {t}",
                "update {t} set distinct_valid_niks = 2 where person_id % 100 < 3"),
    # a source whose NIK column arrived shifted: a quarter of the persons without a valid NIK
    MartWarning("dim_person", "at least 80% of persons with a valid NIK",
                "select 100.0 * count(*) filter (where nik_is_valid) / count(*) from {t}",
                "update {t} set nik_is_valid = false where person_id % 4 = 0"),
    # a source spelling its kelurahan in a way the lookup does not know: 8% of persons placed nowhere
    MartWarning("dim_person", "at most 5% of persons without a resolved kelurahan",
                "select 100.0 * count(*) filter (where kode_kelurahan is null) / count(*) from {t}",
                "update {t} set kode_kelurahan = null where person_id % 100 < 8"),
    # the same: one need rule's persons counted in the unknown kelurahan
    MartWarning("rpt_kelurahan_needs", "at most 5% of needs in an unknown kelurahan",
                "select 100.0 * sum(persons) filter (where kode_kelurahan = 'TIDAK DIKETAHUI') / sum(persons)"
                " from {t}",
                "update {t} set persons = persons + (select sum(persons) / 10 from {t})"
                " where kode_kelurahan = 'TIDAK DIKETAHUI'"
                " and rule_code = (select min(rule_code) from {t})"),
    # a month whose NIKs arrived as Excel numbers (3.57305E+15) in 15% of the rows
    MartWarning("rpt_dtks_kelurahan_summary", "at least 87% of a month's members with a well-formed NIK",
                "select min(ok) from (select 100.0 * sum(members_with_wellformed_nik) / sum(members) ok"
                " from {t} group by periode) m",
                "update {t} set members_with_wellformed_nik = floor(members * 0.85)"
                " where periode = (select max(periode) from {t})"),
]


def test_every_mart_warning_is_covered_here():
    found = set()
    for path in (settings.expectations_dir() / "suites").glob(f"{gate.MART_SUITE_PREFIX}*.json"):
        suite = json.loads(path.read_text(encoding="utf-8"))
        found |= {(path.stem, e["description"]) for e in suite["expectations"] if e.get("severity") == "warning"}
    assert found == {(w.suite, w.description) for w in MART_WARNINGS}


def test_mart_warnings_are_quiet_on_the_generators_small_city(small_city):
    with warehouse.connect(small_city) as conn:
        checked = conn.execute(
            "select suite, description, success from audit.gate_result where batch_id is null"
            " and severity = 'warning' and airflow_run_id = %s", (CTX.run_id,)).fetchall()
    assert sorted(checked) == sorted((w.suite, w.description, True) for w in MART_WARNINGS)


@pytest.mark.parametrize("warning", MART_WARNINGS, ids=lambda w: f"{w.table}-{w.description[:40]}")
def test_mart_warning_fires_on_a_planted_anomaly(warning, small_city):
    schema = "planted_anomaly"
    copy = sql.Identifier(schema, warning.table)
    with warehouse.connect(small_city) as conn:
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("create table {} as select * from {}").format(
            copy, sql.Identifier("marts", warning.table)))
        normal = conn.execute(sql.SQL(warning.share).format(t=copy)).fetchone()[0]
        conn.execute(sql.SQL(warning.plant).format(t=copy))
        planted = conn.execute(sql.SQL(warning.share).format(t=copy)).fetchone()[0]
    try:
        result = gate.run_checkpoint(gate.Checkpoint.for_mart(warning.table, schema), None, url=small_city,
                                     run_id="planted", update_data_docs=False)
    finally:
        with warehouse.connect(small_city) as conn:
            conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))
    assert normal != planted
    assert result.passed, result.summary()  # a warning never holds the build back
    assert [w.description for w in result.warnings] == [warning.description], \
        f"{result.summary()}\nshare {float(normal):.2f}% -> planted {float(planted):.2f}%"
