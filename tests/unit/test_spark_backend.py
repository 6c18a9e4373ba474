"""The spark linkage backend's translation of the model and its setting: no Spark needed (the parity on Spark
itself: tests/integration/test_linkage_spark.py)."""

from __future__ import annotations

import pytest

from lintas import settings
from lintas.identity import scoring, spark_backend


def test_the_models_duckdb_sql_is_translated_for_spark_and_nothing_else_changes():
    model = scoring.load_model(scoring.MODEL_PATH)
    translated = spark_backend.spark_settings(model)
    conditions = [level["sql_condition"] for c in translated["comparisons"] for level in c["comparison_levels"]]
    assert not any('"' in c or "strptime" in c.lower() or "epoch(" in c.lower() for c in conditions)
    assert any(c.startswith("jaro_winkler(`name_l`, `name_r`)") for c in conditions)
    assert [r["blocking_rule"].count("`") for r in translated["blocking_rules_to_generate_predictions"]] == [
        r["blocking_rule"].count('"') for r in model["blocking_rules_to_generate_predictions"]]
    strip = [{k: v for k, v in level.items() if k != "sql_condition"}
             for settings_ in (model, translated) for c in settings_["comparisons"] for level in c["comparison_levels"]]
    assert strip[:len(strip) // 2] == strip[len(strip) // 2:]  # every m and u as trained


def test_an_unknown_linkage_backend_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("LINTAS_LINKAGE_BACKEND", "Spark")
    settings.reload()
    assert settings.linkage_backend() == "spark"
    monkeypatch.setenv("LINTAS_LINKAGE_BACKEND", "polars")
    settings.reload()
    with pytest.raises(settings.ConfigurationError, match="LINTAS_LINKAGE_BACKEND"):
        settings.linkage_backend()


def test_a_date_format_spark_is_not_taught_is_refused_not_dropped():
    model = scoring.load_model(scoring.MODEL_PATH)
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            level["sql_condition"] = level["sql_condition"].replace("%Y-%m-%d", "%d/%m/%Y")
    with pytest.raises(settings.ConfigurationError, match="date format"):
        spark_backend.spark_settings(model)


def test_one_kab_kota_gives_every_record_the_same_region_and_a_province_keeps_them_apart(monkeypatch):
    import pandas as pd

    from lintas.identity import features

    monkeypatch.setenv("LINTAS_KODE_KABKOTA", "3573")
    settings.reload()
    rows = [{"unique_id": "a", "kelurahan": "35.73.05.1001"}, {"unique_id": "b", "kelurahan": None},
            {"unique_id": "c", "kelurahan": "35.07.01.2001"}]
    prepared = pd.DataFrame([{**dict.fromkeys(features.FEATURES), **r} for r in rows], columns=features.FEATURES,
                            dtype=object)
    assert list(scoring.model_input(prepared)["kabkota"]) == ["3573", "3573", "3507"]
    # two kab/kota served: a record without a kelurahan takes its NIK's kab/kota when that is served, else none
    monkeypatch.setenv("LINTAS_REGION_CODES", "35.73,35.79")
    settings.reload()
    rows = [{"unique_id": "a", "kelurahan": None, "nik": "3579021203850001"},
            {"unique_id": "b", "kelurahan": None, "nik": "3507021203850001"},
            {"unique_id": "c", "kelurahan": "35.73.05.1001", "nik": "3579021203850001"}]
    prepared = pd.DataFrame([{**dict.fromkeys(features.FEATURES), **r} for r in rows], columns=features.FEATURES,
                            dtype=object)
    assert list(scoring.model_input(prepared)["kabkota"]) == ["3579", None, "3573"]
    # the NIK rule alone crosses regions; every other rule stays within a kelurahan or a kab/kota
    assert [("kabkota" in rule or "kelurahan" in rule) for rule in scoring.BLOCKING] == [False] + [True] * 5


def test_great_expectations_imports_in_an_interpreter_without_a_main_file():
    """With lintas[spark] installed, GX imports pyspark.sql.connect; pyspark must not end the process there (it
    did, with sys.exit(0), in every pytest-xdist worker and any `python -c` until Spark Connect's dependencies came
    with the extra). Runs whether or not pyspark is installed: GX must import either way."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import great_expectations; print('imported')"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("imported"), proc.stderr[-1000:]
