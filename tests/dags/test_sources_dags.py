"""The extract DAGs, their gates and assets, and the build's schedule come from the source registry: a fifth source
declared there and nowhere else in Python is extracted, gated, announced, and built."""

import pytest
from airflow.dag_processing.dagbag import DagBag

from lintas import dbt_airflow, settings, sources
from lintas.extract_dags import extract_dag
from lintas.report import run_report

POSYANDU = sources.Source(
    key="dinkes_posyandu",
    agency="dinkes",
    channel=sources.Channel.FILE_OUTBOX,
    schedule="0 7 * * 1",
    tables=(sources.RawTable("dinkes_posyandu", sources.Label(id="Posyandu (Dinas Kesehatan)",
                                                               en="Health: posyandu visits")),),
    reader="lintas.extract.dtks",  # any reader: the DAG is rendered, not run
    description="posyandu visit sheets: outbox -> raw.dinkes_posyandu -> GX gate",
    doc="Health (Dinas Kesehatan): a toy fifth agency, declared in lintas.sources only.",
)


@pytest.fixture
def fifth_source(monkeypatch):
    monkeypatch.setattr(sources, "SOURCES", (*sources.SOURCES, POSYANDU))
    return POSYANDU


def test_every_registered_source_has_its_extract_dag(dagbag):
    for source in sources.SOURCES:
        dag = dagbag.dags[source.dag_id]
        assert (dag.schedule, dag.description, dag.doc_md) == (source.schedule, source.description, source.doc)
        assert source.agency in dag.tags
        assert {o.uri for t in dag.tasks for o in t.outlets} == {t.asset_uri for t in source.tables}


def test_a_source_declared_only_in_the_registry_is_extracted_gated_and_built(fifth_source):
    dag = extract_dag(fifth_source)
    assert (dag.dag_id, dag.schedule, dag.catchup) == ("lintas_extract_dinkes_posyandu", "0 7 * * 1", False)
    assert {"lintas", "extract", "dinkes"} <= set(dag.tags)
    edges = {(up.task_id, t.task_id) for t in dag.tasks for up in t.upstream_list}
    assert edges == {("prepare_warehouse", "load_outbox"), ("load_outbox", "anything_to_gate__dinkes_posyandu"),
                     ("anything_to_gate__dinkes_posyandu", "gate__dinkes_posyandu"),
                     ("gate__dinkes_posyandu", "deliveries__dinkes_posyandu")}
    gate = dag.get_task("gate__dinkes_posyandu")
    assert {o.uri for o in gate.outlets} == {"lintas://raw/dinkes_posyandu"} and gate.retries == 0
    verdict = dag.get_task("deliveries__dinkes_posyandu")
    assert verdict.downstream_list == [] and verdict.trigger_rule == "none_failed"
    assert sources.raw_table("dinkes_posyandu").checkpoint == "raw_dinkes_posyandu"  # the gate's GX checkpoint

    # the build DAG file, parsed as Airflow parses it, listens to the new source and can rebuild it alone
    build = DagBag(dag_folder=str(settings.dags_dir() / "lintas_build_warehouse.py"))
    assert build.import_errors == {}
    dag = build.dags["lintas_build_warehouse"]
    assert "lintas://raw/dinkes_posyandu" in {a.uri for a in dag.timetable.asset_condition.objects}
    assert "dinkes_posyandu" in dag.params.get_param("source").schema["enum"]
    assert dbt_airflow.source_selection("dinkes_posyandu") == (
        "source:raw_dinkes.dinkes_posyandu+,+int_identity__source_records")
    # and the auditors' run report names it
    assert run_report.source_labels()["dinkes_posyandu"] == "Posyandu (Dinas Kesehatan) · Health: posyandu visits"


def test_a_source_of_several_tables_gates_each_from_its_own_report(dagbag):
    dag = dagbag.dags[sources.DPMPTSP_IZIN.dag_id]
    pull = dag.get_task("pull_database")
    assert pull.multiple_outputs
    for table in sources.DPMPTSP_IZIN.tables:
        check = dag.get_task(f"anything_to_gate__{table.name}")
        assert check.op_args[0].key == table.name  # the table's own XCom of the pull
