"""The default with no WAREHOUSE_URL: an embedded PostgreSQL under LINTAS_HOME runs the whole slice."""

import pytest

from lintas import pipeline, settings, warehouse
from lintas.load.raw import RunContext
from tests.fixtures.dtks_files import good_file


@pytest.mark.embedded
def test_pipeline_runs_on_the_embedded_warehouse(outbox, monkeypatch):
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    settings.reload()
    url = warehouse.warehouse_url()
    assert str(settings.lintas_home() / "pgdata") in url, "embedded server lives under LINTAS_HOME"
    assert warehouse.prepare(url) == url
    assert warehouse.warehouse_url() == url, "a second call reuses the running server"

    good_file(outbox, count=15)
    ctx = RunContext("embedded_test", "run-e")
    report = pipeline.extract_files("dinsos_dtks", ctx)
    pipeline.gate_source("dinsos_dtks", report, ctx)
    pipeline.build_warehouse()
    with warehouse.connect(url) as conn:
        version = conn.execute("show server_version_num").fetchone()[0]
        members = conn.execute("select sum(members) from marts.rpt_dtks_kelurahan_summary").fetchone()[0]
        extensions = {r[0] for r in conn.execute("select extname from pg_extension")}
    assert int(version) >= 160000
    assert members == 15
    assert extensions == {"plpgsql"}, "the core pipeline needs no contrib extension"
