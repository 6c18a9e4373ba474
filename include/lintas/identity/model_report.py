"""Compare a retrained linkage model (the candidate) with the reviewed one before a person promotes it: per
comparison level the m and u probabilities and the match weight (log2 m/u) before and after, the largest moves
flagged, and, where a generated data set with its truth is at hand (bench/bench_linkage.py --compare), the
precision and recall each model reaches on it. Written beside the candidate as Markdown and JSON (the retrain DAG
writes the weights part after every retraining).

Model parameters and scores only: no record, NIK or name is in the report."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from lintas.identity import linkage, scoring

LARGEST_MOVES = 5  # levels flagged as the largest moves, by the size of their match weight's change
# per source pair: (precision, recall, f1, true pairs, true positives, predicted pairs), as bench_linkage.score
Score = Callable[[dict[str, object], dict[str, int]], dict[tuple[str, str], tuple]]


def _weight(m: float | None, u: float | None) -> float | None:
    return math.log2(m / u) if m and u else None


def _levels(path: Path) -> dict[tuple[str, str], dict]:
    model = json.loads(path.read_text(encoding="utf-8"))
    return {(comparison["output_column_name"], level["label_for_charts"]): level
            for comparison in model["comparisons"] for level in comparison["comparison_levels"]
            if not level.get("is_null_level")}


def level_changes(candidate: Path, reviewed: Path) -> list[dict]:
    """Every comparison level of either model, in the model's order: m, u and match weight before (reviewed)
    and after (candidate), the weight's change, and whether it is among the LARGEST_MOVES (of those that moved)."""
    before, after = _levels(reviewed), _levels(candidate)
    rows = []
    for comparison, level in list(before) + [k for k in after if k not in before]:
        old, new = before.get((comparison, level), {}), after.get((comparison, level), {})
        row = {"comparison": comparison, "level": level,
               "m_before": old.get("m_probability"), "m_after": new.get("m_probability"),
               "u_before": old.get("u_probability"), "u_after": new.get("u_probability")}
        row["weight_before"] = _weight(row["m_before"], row["u_before"])
        row["weight_after"] = _weight(row["m_after"], row["u_after"])
        both = row["weight_before"] is not None and row["weight_after"] is not None
        row["weight_change"] = row["weight_after"] - row["weight_before"] if both else None
        rows.append(row)
    moved = sorted((r for r in rows if r["weight_change"]), key=lambda r: -abs(r["weight_change"]))
    largest = {(r["comparison"], r["level"]) for r in moved[:LARGEST_MOVES]}
    for row in rows:
        row["largest_move"] = (row["comparison"], row["level"]) in largest
    return rows


def bench_scores(models: dict[str, Path], prepared: pd.DataFrame, truth: dict[str, int], score: Score) -> dict:
    """Per model (label -> path): the clusters `linkage.resolve` makes of these records with it, scored against
    the truth by `score` (bench_linkage.score): cross-agency precision, recall, F1 and recall per source pair."""
    out = {}
    for label, path in models.items():
        scored = score(linkage.resolve(prepared, path).cluster_of, truth)
        cross = [pair for pair in scored if pair[0] != pair[1]]
        true_pairs, found, predicted = (sum(scored[p][i] for p in cross) for i in (3, 4, 5))
        precision, recall = found / max(predicted, 1), found / max(true_pairs, 1)
        out[label] = {"precision": precision, "recall": recall,
                      "f1": 2 * precision * recall / max(precision + recall, 1e-9),
                      "recall_per_source_pair": {f"{a} x {b}": scored[(a, b)][1] for a, b in cross}}
    return out


def compare(candidate: Path, reviewed: Path | None = None, *, bench: dict | None = None) -> dict:
    """The report: both models' versions and priors, every level's change, and the bench scores if given."""
    reviewed = reviewed or scoring.model_path()
    prior = {label: json.loads(path.read_text(encoding="utf-8"))["probability_two_random_records_match"]
             for label, path in (("before", reviewed), ("after", candidate))}
    return {"candidate": {"path": str(candidate), "version": scoring.model_version(candidate),
                          "trained_on": scoring.model_metadata(candidate)},
            "reviewed": {"path": str(reviewed), "version": scoring.model_version(reviewed)},
            "prior": prior, "levels": level_changes(candidate, reviewed), "bench": bench}


def _number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}g}" if abs(value) < 1e-3 and value else f"{value:.{digits}f}"


def render_markdown(report: dict) -> str:
    candidate, reviewed = report["candidate"], report["reviewed"]
    out = [f"# Linkage model {candidate['version']} against the reviewed {reviewed['version']}", "",
           f"Candidate `{candidate['path']}`, trained on {candidate['trained_on'].get('records', '?')} records;"
           f" reviewed `{reviewed['path']}`.",
           f"Prior (probability two random records match): {_number(report['prior']['before'])} ->"
           f" {_number(report['prior']['after'])}.", "",
           "## Largest moves", ""]
    largest = sorted((r for r in report["levels"] if r["largest_move"]), key=lambda r: -abs(r["weight_change"]))
    out += [f"- **{r['comparison']}**, {r['level']}: match weight {r['weight_before']:+.2f} ->"
            f" {r['weight_after']:+.2f} ({r['weight_change']:+.2f} bits)" for r in largest]
    out += ["", "## Every comparison level", "",
            "| comparison | level | m before | m after | u before | u after | weight before | weight after |"
            " change |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report["levels"]:
        flag = " **largest**" if r["largest_move"] else ""
        out.append(f"| {r['comparison']} | {r['level']} | {_number(r['m_before'])} | {_number(r['m_after'])} |"
                   f" {_number(r['u_before'])} | {_number(r['u_after'])} | {_number(r['weight_before'], 2)} |"
                   f" {_number(r['weight_after'], 2)} | {_number(r['weight_change'], 2)}{flag} |")
    out += ["", "## Bench scores", ""]
    if not report["bench"]:
        out.append("Not computed here (no generated data set with its truth): run"
                   f" `bench/bench_linkage.py --scale small --compare {candidate['path']}`.")
    else:
        out += ["| model | cross-agency precision | recall | F1 | lowest source-pair recall |",
                "|---|---:|---:|---:|---|"]
        for label, s in report["bench"].items():
            lowest = min(s["recall_per_source_pair"].items(), key=lambda kv: kv[1], default=("-", None))
            out.append(f"| {label} | {s['precision']:.4f} | {s['recall']:.4f} | {s['f1']:.4f} |"
                       f" {lowest[0]} {_number(lowest[1])} |")
    return "\n".join(out) + "\n"


def write(report: dict) -> dict[str, str]:
    """The report beside the candidate: comparison_<candidate>.md and .json (a name the retraining's search for
    splink_model_v*.json does not take for a model). Returns both paths."""
    candidate = Path(report["candidate"]["path"])
    markdown, as_json = (candidate.with_name(f"comparison_{candidate.stem}.{ext}") for ext in ("md", "json"))
    markdown.write_text(render_markdown(report), encoding="utf-8")
    as_json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return {"markdown": str(markdown), "json": str(as_json)}
