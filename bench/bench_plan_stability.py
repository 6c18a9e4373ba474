"""Benchmark: are the big models' plans stable? Issue 16's target: each big model's time within 2x of its median
over repeated runs and over fresh vs. long-lived databases.

    .venv/bin/python bench/bench_plan_stability.py --url postgresql://.../<a built warehouse> [--repeat 3]
        [--fresh bench-city.json] [--json out.json]

The warehouse must have been built once (e.g. `bench/bench_pipeline.py --scale city --keep`, whose first run was on
a fresh database). Each round rebuilds both halves of the build from scratch on this long-lived database
(`dbt build --full-refresh --selector linkage_input`, the build schema reset, `dbt build --full-refresh --selector
marts`; identity resolution's output is kept), takes dbt's seconds per model from run_results.json, and EXPLAINs
each big model's compiled select (with the model's own pre-hooks, e.g. `enable_nestloop = off`) right after its
build: the plan's shape (node types, join order, relations; no costs or row estimates) is hashed, so a plan that
changes between rounds shows even when its time does not. `--fresh` adds the first run of a `bench_pipeline.py`
JSON (a fresh database) as one more sample of each model's time. Counts and timings only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import time
from pathlib import Path

BIG_MODEL_SECONDS = 2.0  # a model is "big" when its median build takes at least this long
LIMIT = 2.0  # issue 16: within 2x of the median


def _plan_shape(node: dict) -> list:
    """A plan without its numbers: node types, join types, relations and index names, in tree order."""
    keys = ("Node Type", "Join Type", "Relation Name", "Index Name", "Strategy", "Parent Relationship")
    return [[node.get(k) for k in keys], [_plan_shape(child) for child in node.get("Plans", [])]]


def plan_hashes(url: str, models: list[str]) -> dict[str, str]:
    """model -> hash of its plan shape, EXPLAINed with the model's pre-hooks from dbt's manifest."""
    from lintas import settings, warehouse

    target = settings.lintas_home() / "dbt" / "target"
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    nodes = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    hashes = {}
    for model in models:
        node = nodes.get(model)
        compiled = sorted(target.glob(f"compiled/**/{model}.sql"))
        if node is None or not compiled:
            continue
        select = compiled[0].read_text(encoding="utf-8")
        with warehouse.connect(url, autocommit=False) as conn:
            for hook in node["config"].get("pre-hook", []):
                conn.execute(hook["sql"])  # the project's own hooks: `set local ...`
            plan = conn.execute("explain (format json) " + select).fetchone()[0]  # noqa: S608 (dbt's compiled model)
            conn.rollback()
        shape = json.dumps(_plan_shape(plan[0]["Plan"]), sort_keys=True)
        hashes[model] = hashlib.sha256(shape.encode()).hexdigest()[:12]
    return hashes


def build_round(url: str) -> dict:
    """One full-refresh build of both halves; dbt's seconds per model and the plans of the models it built."""
    from lintas.transform import dbt, publish

    seconds: dict[str, float] = {}
    plans: dict[str, str] = {}
    started = time.perf_counter()
    load = os.getloadavg()[0]
    for selector in (dbt.LINKAGE_INPUT, dbt.MARTS):
        if selector == dbt.MARTS:
            publish.reset_build_schema(url)
        outcome = dbt.run(["build", "--full-refresh", "--selector", selector], url)
        built = {r["unique_id"].rsplit(".", 1)[-1]: float(r["execution_time"] or 0)
                 for r in outcome.results if r["unique_id"].startswith("model.")}
        seconds |= built
        plans |= plan_hashes(url, [m for m, s in built.items() if s >= BIG_MODEL_SECONDS / 2])
    return {"seconds": seconds, "plans": plans, "wall_seconds": round(time.perf_counter() - started, 1),
            "load_before": round(load, 1), "load_after": round(os.getloadavg()[0], 1)}


def evaluate(rounds: list[dict], fresh: dict[str, float] | None) -> list[dict]:
    """Per big model: its samples, their median, the worst ratio to the median and whether its plan changed."""
    models = sorted({m for r in rounds for m in r["seconds"]})
    rows = []
    for model in models:
        samples = [r["seconds"][model] for r in rounds if model in r["seconds"]]
        if fresh and model in fresh:
            samples.append(fresh[model])
        median = statistics.median(samples)
        if median < BIG_MODEL_SECONDS:
            continue
        worst = max(max(s / median, median / s if s else float("inf")) for s in samples)
        plans = {r["plans"].get(model) for r in rounds if r["plans"].get(model)}
        rows.append({"model": model, "samples": [round(s, 2) for s in samples], "median": round(median, 2),
                     "worst_ratio": round(worst, 2), "within_limit": worst <= LIMIT, "plans": len(plans)})
    return sorted(rows, key=lambda row: -row["median"])


def render(rows: list[dict], rounds: list[dict], fresh_label: str | None) -> str:
    header = [f"round {i + 1} (load {r['load_before']})" for i, r in enumerate(rounds)]
    if fresh_label:
        header.append(fresh_label)
    lines = ["| model | " + " | ".join(header) + " | median s | worst / median | plans | within 2x |",
             "|---|" + "---|" * (len(header) + 4)]
    for row in rows:
        samples = [f"{s:.1f}" for s in row["samples"]] + [""] * (len(header) - len(row["samples"]))
        lines.append(f"| `{row['model']}` | " + " | ".join(samples) + f" | {row['median']:.1f} | "
                     f"{row['worst_ratio']:.2f} | {row['plans']} | {'yes' if row['within_limit'] else '**no**'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="a built warehouse (its build schema is rebuilt)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fresh", type=Path, help="a bench_pipeline.py JSON: its first run is the fresh sample")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ["WAREHOUSE_URL"] = args.url
    from lintas import settings
    from lintas.transform import dbt

    settings.reload()
    dbt.ensure_manifest()
    fresh = None
    if args.fresh:
        first = json.loads(args.fresh.read_text(encoding="utf-8"))["phases"]["first"]
        fresh = {m["model"]: m["seconds"] for m in first["dbt_models"] if m["seconds"] is not None}
    rounds = []
    for number in range(args.repeat):
        rounds.append(build_round(args.url))
        print(f"round {number + 1}: {rounds[-1]['wall_seconds']} s, load {rounds[-1]['load_before']}"
              f" -> {rounds[-1]['load_after']}", flush=True)
    rows = evaluate(rounds, fresh)
    print(render(rows, rounds, "fresh database (first run)" if fresh else None))
    if args.json:
        args.json.write_text(json.dumps({"rounds": rounds, "models": rows}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
