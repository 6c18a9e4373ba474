"""Re-estimate the identity model on the warehouse's current data, as a new versioned file for review.

The reviewed model in the repository (`model/splink_model.json`) is never overwritten: a retrained model is
written under LINTAS_HOME (`models/linkage/splink_model_v<N>.json`) and linkage only uses it once an engineer has
compared it and set LINTAS_LINKAGE_MODEL to it (or copied it into the repository with a commit).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from lintas import settings
from lintas.identity import features, scoring

log = logging.getLogger(__name__)

MIN_RECORDS = 500  # fewer records cannot estimate m and u of every comparison level


class TrainingError(RuntimeError):
    """The data cannot give a usable model, or the model written is not valid. Counts only, no personal data."""


def models_dir() -> Path:
    return settings.lintas_home() / "models" / "linkage"


def _version(path: Path) -> int:
    try:
        return int(scoring.model_metadata(path).get("version", 0))
    except (OSError, ValueError):
        return 0


def validate_model(path: Path, *, floor: float = 0.0) -> list[str]:
    """Problems that make a model unusable (empty list: valid): every comparison level but the null level has
    m and u probabilities in (floor, 1] (a retrained model: at least scoring.MIN_PROBABILITY, no collapsed level)
    that sum to about 1 per comparison, the prior is a probability, and Splink accepts the settings."""
    problems: list[str] = []
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"unreadable: {type(exc).__name__}"]
    prior = model.get("probability_two_random_records_match")
    if not isinstance(prior, int | float) or not 0 < prior < 1:
        problems.append("probability_two_random_records_match is not a probability")
    reviewed = json.loads(scoring.MODEL_PATH.read_text(encoding="utf-8"))
    expected = {c.get("output_column_name") for c in reviewed.get("comparisons", [])}
    names = {c.get("output_column_name") for c in model.get("comparisons", [])}
    if names != expected:
        problems.append(f"comparisons differ from the code's: {sorted(names ^ expected)}")
    for comparison in model.get("comparisons", []):
        name = comparison.get("output_column_name")
        levels = [lv for lv in comparison.get("comparison_levels", []) if not lv.get("is_null_level")]
        for kind in ("m_probability", "u_probability"):
            values = [lv.get(kind) for lv in levels]
            if any(not isinstance(v, int | float) or math.isnan(v) or not 0 < v <= 1 for v in values):
                problems.append(f"{name}: a level has no usable {kind}")
            elif any(v < floor for v in values):
                problems.append(f"{name}: a level's {kind} is below {floor:g} (collapsed)")
            elif abs(sum(values) - 1) > 0.01:
                problems.append(f"{name}: {kind} values sum to {sum(values):.3f}")
    if not problems:
        try:
            scoring.check_splink_accepts(path)
        except Exception as exc:  # noqa: BLE001 - any refusal by Splink makes the model unusable
            problems.append(f"Splink refuses the settings: {type(exc).__name__}")
    return problems


def retrain(url: str, *, out_dir: Path | None = None) -> dict:
    """Re-estimate the parameters of the model in use on intermediate.int_identity__source_records and write it
    as the next version under `out_dir` (default LINTAS_HOME/models/linkage). Returns counts, paths, versions."""
    out_dir = out_dir or models_dir()
    prepared = features.prepare(features.read_source_records(url))
    if len(prepared) < MIN_RECORDS:
        raise TrainingError(f"too few records to train the linkage model: {len(prepared)} < {MIN_RECORDS}")
    current = scoring.model_path()
    existing = [_version(p) for p in out_dir.glob("splink_model_v*.json")] if out_dir.exists() else []
    version = max([_version(current), *existing]) + 1
    path = out_dir / f"splink_model_v{version}.json"
    scoring.train(prepared, path, version=version, start_from=current)
    problems = validate_model(path, floor=scoring.MIN_PROBABILITY)
    if problems:
        path.replace(path.with_suffix(".rejected.json"))
        raise TrainingError(f"retrained model v{version} is not valid: {'; '.join(problems)}")
    summary = {"path": str(path), "version": version, "model_version": scoring.model_version(path),
               "records": len(prepared), "in_use": scoring.model_version(current),
               "adopt_with": f"LINTAS_LINKAGE_MODEL={path}"}
    log.info("linkage model retrained: %s", summary)
    return summary
