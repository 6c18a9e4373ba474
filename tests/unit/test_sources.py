"""The source registry agrees with the files a source needs beside it: raw table, gate, dbt source, retention rule,
reader or pull, DAG file. A source added to the registry and forgotten in one of them fails here, by name."""

import pkgutil
import re

import pytest
import yaml

from lintas import settings, sources
from lintas.privacy import retention


def _migrations() -> str:
    folder = settings.project_root() / "include" / "lintas" / "sql"
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.sql")))


def test_names_are_unique():
    tables = [t.name for t in sources.raw_tables()]
    assert len(tables) == len(set(tables)) == 5
    assert len({s.key for s in sources.SOURCES}) == len({s.dag_id for s in sources.SOURCES}) == len(sources.SOURCES)


def test_every_raw_table_is_created_by_the_migrations():
    assert set(re.findall(r"create table if not exists raw\.(\w+)", _migrations())) == {
        t.name for t in sources.raw_tables()}


@pytest.mark.parametrize("table", sources.raw_tables(), ids=lambda t: t.name)
def test_every_raw_table_has_its_gate(table):
    checkpoint = yaml.safe_load((settings.expectations_dir() / "checkpoints" / f"{table.checkpoint}.yml")
                                .read_text(encoding="utf-8"))
    assert checkpoint["name"] == table.checkpoint and checkpoint["relation"] == table.relation
    assert checkpoint["batch_column"] == "_batch_id", "a raw gate checks one batch"
    assert (settings.expectations_dir() / "suites" / f"{checkpoint['suite']}.json").is_file()


@pytest.mark.parametrize("source", sources.SOURCES, ids=lambda s: s.key)
def test_every_source_is_a_dbt_source_of_its_agency(source):
    path = settings.dbt_project_dir() / "models" / "staging" / source.agency / f"_{source.agency}__sources.yml"
    declared = {(s["name"], s["schema"], t["name"]) for s in yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]
                for t in s["tables"]}
    assert {(f"raw_{source.agency}", "raw", t.name) for t in source.tables} <= declared


def test_every_raw_table_has_a_retention_rule():
    assert set(retention.RAW_SOURCES) == {t.name for t in sources.raw_tables()}


@pytest.mark.parametrize("source", sources.SOURCES, ids=lambda s: s.key)
def test_every_source_has_its_extract_and_its_dag_file(source):
    if source.channel is sources.Channel.FILE_OUTBOX:
        reader = pkgutil.resolve_name(source.reader)
        assert callable(reader.read) and reader.SOURCE == source.tables[0].name
    else:
        assert callable(pkgutil.resolve_name(source.pull))
    assert (settings.dags_dir() / f"{source.dag_id}.py").is_file()  # what it builds: tests/dags/test_sources_dags.py


def test_labels_name_each_raw_source_in_indonesian_and_english():
    assert sources.label("dinsos_dtks") == sources.Label(id="DTKS/DTSEN (Dinas Sosial)",
                                                         en="Social Affairs: welfare register snapshot")
    assert sources.label("dpmptsp_izin_usaha") != sources.label("dpmptsp_izin_usaha_kbli")
    for table in sources.raw_tables():
        assert table.label.id and table.label.en and table.label.id != table.label.en, table.name
    with pytest.raises(sources.UnknownSource, match="dinkes_posyandu"):
        sources.label("dinkes_posyandu")


def test_a_source_declares_how_it_is_extracted():
    table = sources.RawTable("dinkes_posyandu", sources.Label(id="Posyandu (Dinas Kesehatan)", en="Health: posyandu"))
    common = {"key": "dinkes_posyandu", "agency": "dinkes", "schedule": "@daily", "tables": (table,),
              "description": "d", "doc": "d"}
    with pytest.raises(ValueError, match="needs a reader"):
        sources.Source(channel=sources.Channel.FILE_OUTBOX, **common)
    with pytest.raises(ValueError, match="needs a pull function and a connection"):
        sources.Source(channel=sources.Channel.API_PULL, pull="lintas.pipeline:extract_dapodik", **common)
    with pytest.raises(ValueError, match="no raw table"):
        sources.Source(channel=sources.Channel.FILE_OUTBOX, reader="lintas.extract.dtks", **{**common, "tables": ()})
