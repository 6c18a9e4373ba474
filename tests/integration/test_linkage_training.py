"""Retraining the identity model on a real (small, synthetic) warehouse: a valid new version, reviewed model
untouched, and linkage uses the new file only once it is configured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import bench_linkage
from lintas import pipeline, settings, warehouse
from lintas.identity import features, linkage, model_report, scoring, training
from lintas.load.raw import RunContext
from lintas_sandbox.synth import dapodik as synth_dapodik
from lintas_sandbox.synth import dtks as synth_dtks
from lintas_sandbox.synth import izin as synth_izin
from lintas_sandbox.synth import population
from lintas_sandbox.synth import umkm as synth_umkm

CTX = RunContext("lintas_retrain_linkage", "run-1")
TOLERANCE = 0.02  # cross-agency precision / recall a retrained model may lose against the reviewed one


@pytest.fixture
def small_warehouse(warehouse_url, tmp_path, monkeypatch):
    """DTKS and UMKM deliveries of the generator's small city, loaded, gated and unified for linkage."""
    out = tmp_path / "agencies"
    pop = population.generate("small", 2)
    synth_dtks.render(pop, out, months=1)
    synth_umkm.render(pop, out)
    monkeypatch.setenv("LINTAS_OUTBOX_DINSOS", str(out / "outbox" / "dinsos"))
    monkeypatch.setenv("LINTAS_OUTBOX_DISKOPINDAG", str(out / "outbox" / "diskopindag"))
    settings.reload()
    for source in ("dinsos_dtks", "diskopindag_umkm"):
        pipeline.gate_source(source, pipeline.extract_files(source, CTX), CTX)
    pipeline.build_linkage_input(CTX)
    return warehouse_url


def test_retraining_writes_a_new_valid_version_and_never_the_reviewed_model(small_warehouse, tmp_path,
                                                                             monkeypatch):
    reviewed = scoring.MODEL_PATH.read_bytes()
    reviewed_version = scoring.model_metadata()["version"]
    out_dir = tmp_path / "models"

    first = training.retrain(small_warehouse, out_dir=out_dir)
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
    second = training.retrain(small_warehouse, out_dir=out_dir)
    assert second["version"] == reviewed_version + 2 and path.exists()

    # linkage keeps the reviewed model until the new one is configured
    assert linkage.link(small_warehouse, run_id="reviewed")["records"] == records
    monkeypatch.setenv("LINTAS_LINKAGE_MODEL", str(path))
    settings.reload()
    linkage.link(small_warehouse, run_id="retrained")
    with warehouse.connect(small_warehouse) as conn:
        used = dict(conn.execute("select airflow_run_id, model_version from identity.link_run"))
    assert used == {"reviewed": scoring.model_version(scoring.MODEL_PATH), "retrained": first["model_version"]}
    assert used["retrained"].startswith(f"v{reviewed_version + 1}-")


def test_a_retrained_model_is_compared_with_the_reviewed_one_level_by_level_and_on_the_bench(
        small_warehouse, tmp_path):
    candidate = Path(training.retrain(small_warehouse, out_dir=tmp_path / "models")["path"])
    # the bench's truth of the generated city (every agency's file; the records not loaded are not scored)
    pop = population.generate("small", 2)
    synth_dapodik.render(pop, tmp_path / "agencies")
    synth_izin.render(pop, None, tmp_path / "agencies")
    truth = bench_linkage.truth(tmp_path / "agencies")
    prepared = features.prepare(features.read_source_records(small_warehouse))
    bench = model_report.bench_scores({"reviewed": scoring.MODEL_PATH, "candidate": candidate}, prepared, truth,
                                      bench_linkage.score)
    report = model_report.compare(candidate, scoring.MODEL_PATH, bench=bench)
    written = model_report.write(report)

    reviewed = json.loads(scoring.MODEL_PATH.read_text(encoding="utf-8"))
    every_level = [(c["output_column_name"], lv["label_for_charts"]) for c in reviewed["comparisons"]
                   for lv in c["comparison_levels"] if not lv.get("is_null_level")]
    assert [(r["comparison"], r["level"]) for r in report["levels"]] == every_level
    trained = {(c["output_column_name"], lv["label_for_charts"]): lv["m_probability"]
               for c in json.loads(candidate.read_text(encoding="utf-8"))["comparisons"]
               for lv in c["comparison_levels"] if not lv.get("is_null_level")}
    assert all(r["m_after"] == trained[(r["comparison"], r["level"])] for r in report["levels"])
    # the flagged levels are the largest moves of the match weight
    changes = sorted((abs(r["weight_change"]) for r in report["levels"]), reverse=True)
    flagged = [r for r in report["levels"] if r["largest_move"]]
    assert len(flagged) == model_report.LARGEST_MOVES
    assert min(abs(r["weight_change"]) for r in flagged) == changes[model_report.LARGEST_MOVES - 1] > 0
    # both models scored on the city's cross-agency pairs (DTKS x UMKM here)
    assert set(bench) == {"reviewed", "candidate"}
    for scores in bench.values():
        assert 0.9 < scores["precision"] <= 1 and 0.5 < scores["recall"] <= 1
        assert list(scores["recall_per_source_pair"]) == ["dinsos_dtks x diskopindag_umkm"]
    # the retrained model links no worse than the reviewed one (tolerance: one pair in ~50 true cross pairs)
    assert bench["candidate"]["precision"] >= bench["reviewed"]["precision"] - TOLERANCE
    assert bench["candidate"]["recall"] >= bench["reviewed"]["recall"] - TOLERANCE

    # no level collapsed: on this small city (1,339 records, 28 pairs sharing a NIK) EM alone drove name >= 0.9,
    # birth date within a year and mother exact to 1e-150..1e-58; a match's birth date is mostly exact
    levels = {(c["output_column_name"], lv["label_for_charts"]): lv
              for c in json.loads(candidate.read_text(encoding="utf-8"))["comparisons"]
              for lv in c["comparison_levels"] if not lv.get("is_null_level")}
    assert min(lv[k] for lv in levels.values() for k in ("m_probability", "u_probability")) >= 1e-6
    assert levels[("dob", "Exact match on date of birth")]["m_probability"] > 0.5
    assert levels[("name", "Exact match on name")]["m_probability"] > 0.5
    assert levels[("nik", "Exact match on nik")]["m_probability"] > 0.5
    for (comparison, level), lv in levels.items():  # agreeing is evidence for a match, never against
        if level.startswith("Exact match"):
            assert lv["m_probability"] > lv["u_probability"], (comparison, level)

    markdown = Path(written["markdown"]).read_text(encoding="utf-8")
    assert Path(written["markdown"]).parent == candidate.parent
    assert json.loads(Path(written["json"]).read_text(encoding="utf-8"))["levels"] == report["levels"]
    assert all(f"| {comparison} | {level} |" in markdown for comparison, level in every_level)
    assert markdown.count("**largest**") == model_report.LARGEST_MOVES and "| candidate |" in markdown
    # without a bench the report says how to get one
    assert "bench/bench_linkage.py" in model_report.render_markdown(model_report.compare(candidate))


def test_a_model_with_a_missing_probability_is_not_valid(tmp_path):
    model = json.loads(scoring.MODEL_PATH.read_text(encoding="utf-8"))
    assert training.validate_model(scoring.MODEL_PATH) == []
    del model["comparisons"][1]["comparison_levels"][1]["m_probability"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(model), encoding="utf-8")
    assert training.validate_model(broken) == ["name: a level has no usable m_probability"]



def test_a_collapsed_level_is_raised_to_the_floor_and_a_model_below_it_is_not_valid(tmp_path):
    model = json.loads(scoring.MODEL_PATH.read_text(encoding="utf-8"))
    dob = next(c for c in model["comparisons"] if c["output_column_name"] == "dob")["comparison_levels"]
    within_a_year = next(lv for lv in dob if lv["label_for_charts"] == "Abs date difference <= 1 year")
    other = next(lv for lv in dob if lv["label_for_charts"] == "All other comparisons")
    other["m_probability"] += within_a_year["m_probability"] - 2.69e-150
    within_a_year["m_probability"] = 2.69e-150  # what EM alone gave on the small city
    collapsed = tmp_path / "collapsed.json"
    collapsed.write_text(json.dumps(model), encoding="utf-8")
    assert training.validate_model(collapsed) == []  # a probability, just an absurd one
    assert training.validate_model(collapsed, floor=scoring.MIN_PROBABILITY) == [
        "dob: a level's m_probability is below 1e-06 (collapsed)",
        "sex: a level's m_probability is below 1e-06 (collapsed)"]  # the reviewed model's own: 1.8e-17

    raised = scoring.apply_floor(model)
    assert raised >= 1 and within_a_year["m_probability"] == scoring.MIN_PROBABILITY
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for kind in ("m_probability", "u_probability"):
            assert min(lv[kind] for lv in levels) >= scoring.MIN_PROBABILITY
            assert sum(lv[kind] for lv in levels) == pytest.approx(1)
    collapsed.write_text(json.dumps(model), encoding="utf-8")
    assert training.validate_model(collapsed, floor=scoring.MIN_PROBABILITY) == []


def test_the_training_labels_are_pairs_sharing_one_persons_valid_nik():
    import pandas as pd

    nik_a, nik_b, family = "3573014101900001", "3573015203850002", "3573010101800009"
    prepared = pd.DataFrame({
        "unique_id": ["r1", "r2", "r3", "r4", "r5", *(f"f{i}" for i in range(scoring.MAX_LABEL_GROUP + 1))],
        "nik": [nik_a, nik_a, nik_a, nik_b, nik_b, *[family] * (scoring.MAX_LABEL_GROUP + 1)],
        "nik_valid": [True, True, True, True, False, *[True] * (scoring.MAX_LABEL_GROUP + 1)],
    })
    pairs = scoring.nik_label_pairs(prepared)
    # r4-r5: one NIK is not valid; the family's NIK is on more records than one person has
    assert sorted(map(tuple, pairs.to_numpy())) == [("r1", "r2"), ("r1", "r3"), ("r2", "r3")]
