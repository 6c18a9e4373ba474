"""Write-audit-publish of the marts: dbt writes into marts_build, the mart gate audits it, publish swaps it into
`marts` in one transaction. A batch that passes the raw gate but breaks a mart expectation changes nothing
analysts see."""

import json
import shutil
import uuid

import pytest
from psycopg import sql

from lintas import pipeline, settings, warehouse
from lintas.load.raw import RunContext
from lintas.quality import gate
from lintas.transform import publish
from tests.fixtures.dtks_files import good_file, member, write

MART = "rpt_dtks_kelurahan_summary"


def _load(outbox_path, name, rows, run_id="run-load"):
    write(outbox_path, name, rows)
    ctx = RunContext("test_dag", run_id)
    return pipeline.gate_source("dinsos_dtks", pipeline.extract_files("dinsos_dtks", ctx), ctx)


def _published(url) -> dict[str, tuple[int, str, int]]:
    """table -> (rows, checksum of every row, table oid) of everything analysts can query in `marts` (a
    partitioned table's rows once: its partitions are not granted to analysts)."""
    with warehouse.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "select table_name from information_schema.tables join pg_class c"
            " on c.oid = format('%I.%I', table_schema, table_name)::regclass and not c.relispartition"
            " where table_schema = 'marts' order by 1")]
        state = {}
        for table in tables:
            ident = sql.Identifier("marts", table)
            rows, checksum = conn.execute(sql.SQL(
                "select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {} t"
            ).format(ident)).fetchone()
            oid = conn.execute("select %s::regclass::oid", (f"marts.{table}",)).fetchone()[0]
            state[table] = (rows, checksum, oid)
        return state


def _events(url, run_id):
    with warehouse.connect(url) as conn:
        return conn.execute("select outcome, tables, reason from audit.publish_event where airflow_run_id = %s"
                            " order by publish_event_id", (run_id,)).fetchall()


def _schemas(url):
    with warehouse.connect(url) as conn:
        # the published marts and the swap's schemas (the access views' schemas marts_pseudo/_public aside)
        return {r[0] for r in conn.execute("select nspname from pg_namespace where nspname like 'marts%'"
                                           " and nspname not in ('marts_pseudo', 'marts_public')")}


def test_a_batch_that_breaks_a_mart_expectation_changes_nothing_analysts_see(warehouse_url, outbox):
    good = RunContext("test_dag", "run-good")
    _load(outbox, "DTKS_3573_202610.csv", [member(i) for i in range(40)])
    pipeline.build_warehouse(good)
    before = _published(warehouse_url)
    assert before[MART][0] > 0
    assert [e[0] for e in _events(warehouse_url, "run-good")] == ["published"]

    # next month passes the raw gate (every KELURAHAN is filled in) but no address resolves to a kelurahan
    rows = [member(i, "2026-11", KELURAHAN="KELURAHAN ANTAH BERANTAH") for i in range(40)]
    outcome = _load(outbox, "DTKS_3573_202611.csv", rows)
    assert outcome["rejected"] == [] and len(outcome["accepted"]) == 1

    bad = RunContext("test_dag", "run-bad")
    with pytest.raises(pipeline.PipelineFailed) as failure:
        pipeline.build_warehouse(bad)
    message = str(failure.value)
    assert "marts held back" in message
    assert f"gate marts_{MART}: FAILED" in message
    assert "at most 5% of a month's members in an unresolved kelurahan" in message
    for row in rows:
        assert row["NIK"] not in message and row["NAMA"] not in message and row["ALAMAT"] not in message

    assert _published(warehouse_url) == before, "analysts keep the last good version, table for table"
    events = _events(warehouse_url, "run-bad")
    assert [e[0] for e in events] == ["held_back"]
    assert events[0][1] == {"failed": [f"marts_{MART}"]} and "unresolved kelurahan" in events[0][2]
    with warehouse.connect(warehouse_url) as conn:
        failed = conn.execute(
            "select suite, expectation, description from audit.gate_result"
            " where airflow_run_id = 'run-bad' and batch_id is null and not success and severity = 'critical'"
        ).fetchall()
    assert failed == [(f"marts_{MART}", "unexpected_rows_expectation",
                       "at most 5% of a month's members in an unresolved kelurahan")]

    # publish itself refuses a build whose gate failed, whoever calls it
    with pytest.raises(pipeline.PipelineFailed, match=f"failed \\['marts_{MART}'\\]"):
        pipeline.publish_marts(bad)
    assert _published(warehouse_url) == before


def test_a_mart_without_a_reviewed_suite_fails_the_gate(warehouse_url, outbox, tmp_path, monkeypatch):
    _load(outbox, "DTKS_3573_202610.csv", [member(i) for i in range(20)])
    ctx = RunContext("test_dag", "run-nosuite")
    pipeline.build_linkage_input(ctx)
    pipeline.link_identities(ctx)
    pipeline.build_marts(ctx)
    # the same project, but the reviewed suite of the mart is missing (as for a new mart nobody wrote one for)
    root = tmp_path / "project"
    root.mkdir()
    for folder in ("dbt_project", "dags"):
        (root / folder).symlink_to(settings.project_root() / folder)
    shutil.copytree(settings.expectations_dir(), root / "expectations")
    (root / "expectations" / "suites" / f"marts_{MART}.json").unlink()
    (root / "expectations" / "suites" / "marts_retired_mart.json").write_text(json.dumps(
        {"name": "marts_retired_mart", "expectations": []}), encoding="utf-8")
    monkeypatch.setenv("LINTAS_PROJECT_ROOT", str(root))
    settings.reload()

    with pytest.raises(pipeline.PipelineFailed) as failure:
        pipeline.gate_marts(ctx)
    message = str(failure.value)
    assert f'lintas_mart_has_reviewed_suite "no suite expectations/suites/marts_{MART}.json' in message
    assert 'lintas_suite_has_built_mart "the build has no table retired_mart' in message
    with pytest.raises(pipeline.PipelineFailed, match="not checked|failed"):
        pipeline.publish_marts(ctx)
    assert "marts" not in _schemas(warehouse_url), "nothing was ever published"


def test_a_successful_publish_swaps_the_whole_schema_at_once(warehouse_url, outbox):
    _load(outbox, "DTKS_3573_202610.csv", [member(i) for i in range(40)])
    first = pipeline.build_warehouse(RunContext("test_dag", "run-1"))
    assert first["publish"]["published"][MART] == 2
    assert _schemas(warehouse_url) == {"marts"}, "build schema renamed, previous version dropped"
    old = _published(warehouse_url)

    # analysts have read access to the published marts
    role = f"lintas_test_analyst_{uuid.uuid4().hex[:8]}"
    with warehouse.connect(warehouse_url) as conn:
        conn.execute(sql.SQL("create role {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("grant usage on schema marts to {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("grant select on all tables in schema marts to {}").format(sql.Identifier(role)))
    try:
        # a corrected October re-delivery: 44 members instead of 40
        _load(outbox, "DTKS_3573_202610.csv", [member(i, KELURAHAN="Tasik Madu") for i in range(44)])
        second = pipeline.build_warehouse(RunContext("test_dag", "run-2"))
        new = _published(warehouse_url)
        with warehouse.connect(warehouse_url) as conn:
            members = conn.execute(sql.SQL("select periode, kode_kelurahan, members from {}").format(
                sql.Identifier("marts", MART))).fetchall()
            rights = conn.execute(
                "select has_schema_privilege(%s, 'marts', 'usage'), has_table_privilege(%s, %s, 'select')",
                (role, role, f"marts.{MART}")).fetchone()
            events = conn.execute(
                "select airflow_run_id, outcome, tables, row_count, swap_seconds from audit.publish_event"
                " order by publish_event_id").fetchall()
    finally:
        with warehouse.connect(warehouse_url) as conn:
            conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))

    assert members == [("2026-10", "35.73.05.1012", 44)], "old rows gone, only the new version is there"
    assert new[MART][2] != old[MART][2], "a new table, swapped in, not the old one edited in place"
    assert _schemas(warehouse_url) == {"marts"}, "no build schema or previous version left behind"
    assert rights == (True, True), "analysts keep their grants on the new version"
    assert [(e[0], e[1], e[2][MART]) for e in events] == [("run-1", "published", 2), ("run-2", "published", 1)]
    assert all(e[3] == sum(e[2].values()) for e in events)
    assert {t: n for t, (n, _, _) in new.items()} == events[1][2], "what was counted is what analysts see"
    assert all(0 <= e[4] < 5 for e in events)
    assert second["publish"]["swap_seconds"] < 5
    # a retry of the publish task after the swap committed does nothing twice
    assert pipeline.publish_marts(RunContext("test_dag", "run-2"))["already_published"] is True


def test_publish_refuses_views_in_the_build_schema(warehouse_url, outbox):
    good_file(outbox, count=12)
    pipeline.gate_source("dinsos_dtks", pipeline.extract_files("dinsos_dtks", RunContext()), RunContext())
    ctx = RunContext("test_dag", "run-view")
    pipeline.build_linkage_input(ctx)
    pipeline.link_identities(ctx)
    pipeline.build_marts(ctx)
    with warehouse.connect(warehouse_url) as conn:
        conn.execute(sql.SQL("create view {} as select * from {}").format(
            sql.Identifier(publish.BUILD_SCHEMA, "v_summary"), sql.Identifier(publish.BUILD_SCHEMA, MART)))
    assert all(r.passed for r in gate.run_mart_gate(publish.BUILD_SCHEMA, url=warehouse_url, run_id="run-view")
               if r.gate == f"marts_{MART}")
    with pytest.raises(publish.PublishRefused, match="only tables may be published.*v_summary"):
        publish.publish(url=warehouse_url, dag_id="test_dag", run_id="run-view")
    assert "marts" not in _schemas(warehouse_url)
