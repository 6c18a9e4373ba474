"""Retraining the identity model on a real (small, synthetic) warehouse: a valid new version, reviewed model
untouched, and linkage uses the new file only once it is configured."""

from __future__ import annotations

import json

import pytest

from lintas import pipeline, warehouse
from lintas.identity import linkage, scoring, training
from lintas.load.raw import RunContext
from lintas_sandbox.synth import dtks as synth_dtks
from lintas_sandbox.synth import population
from lintas_sandbox.synth import umkm as synth_umkm

CTX = RunContext("lintas_retrain_linkage", "run-1")


@pytest.fixture
def small_warehouse(warehouse_url, tmp_path, monkeypatch):
    """DTKS and UMKM deliveries of the generator's small city, loaded, gated and unified for linkage."""
    out = tmp_path / "agencies"
    pop = population.generate("small", 2)
    synth_dtks.render(pop, out, months=1)
    synth_umkm.render(pop, out)
    monkeypatch.setenv("LINTAS_OUTBOX_DINSOS", str(out / "outbox" / "dinsos"))
    monkeypatch.setenv("LINTAS_OUTBOX_DISKOPINDAG", str(out / "outbox" / "diskopindag"))
    for source in ("dinsos_dtks", "diskopindag_umkm"):
        pipeline.gate_source(source, pipeline.extract_files(source, CTX), CTX)
    pipeline.build_linkage_input(CTX)
    return warehouse_url


def test_retraining_writes_a_new_valid_version_and_never_the_reviewed_model(small_warehouse, tmp_path,
                                                                             monkeypatch):
    reviewed = scoring.MODEL_PATH.read_bytes()
    reviewed_version = scoring.model_metadata()["version"]
    out_dir = tmp_path / "models"

    first = training.retrain(out_dir=out_dir)
    path = out_dir / f"splink_model_v{reviewed_version + 1}.json"
    assert first["path"] == str(path) and first["version"] == reviewed_version + 1
    assert training.validate_model(path) == []
    model = json.loads(path.read_text(encoding="utf-8"))
    with warehouse.connect(small_warehouse) as conn:
        records = conn.execute("select count(*) from intermediate.int_identity__source_records").fetchone()[0]
    assert model[scoring.METADATA_KEY]["records"] == first["records"] == records
    assert {c["output_column_name"] for c in model["comparisons"]} == {
        c["output_column_name"] for c in json.loads(reviewed)["comparisons"]}
    assert scoring.MODEL_PATH.read_bytes() == reviewed, "the reviewed model must never be overwritten"

    # a second run is the next version, beside the first
    second = training.retrain(out_dir=out_dir)
    assert second["version"] == reviewed_version + 2 and path.exists()

    # linkage keeps the reviewed model until the new one is configured
    assert linkage.link(run_id="reviewed")["records"] == records
    monkeypatch.setenv("LINTAS_LINKAGE_MODEL", str(path))
    linkage.link(run_id="retrained")
    with warehouse.connect(small_warehouse) as conn:
        used = dict(conn.execute("select airflow_run_id, model_version from identity.link_run"))
    assert used == {"reviewed": scoring.model_version(scoring.MODEL_PATH), "retrained": first["model_version"]}
    assert used["retrained"].startswith(f"v{reviewed_version + 1}-")


def test_a_model_with_a_missing_probability_is_not_valid(tmp_path):
    model = json.loads(scoring.MODEL_PATH.read_text(encoding="utf-8"))
    assert training.validate_model(scoring.MODEL_PATH) == []
    del model["comparisons"][1]["comparison_levels"][1]["m_probability"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(model), encoding="utf-8")
    assert training.validate_model(broken) == ["name: a level has no usable m_probability"]

