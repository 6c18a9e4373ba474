"""Benchmark: what every warning-severity expectation observes on the generator's normal data.

    .venv/bin/python bench/bench_warnings.py --scale small|city|5 [--profile default|second] [--keep]

Generates the agencies' data (`lintas generate`: two DTKS months, Dapodik, UMKM, DPMPTSP), loads it through
`lintas.pipeline` into a fresh warehouse database (every channel, the raw gates), builds the warehouse (linkage,
marts, the mart gate, publish), then prints, per warning of expectations/suites/*.json, the value it observed
beside its threshold: the raw warnings per batch (from audit.gate_result), the mart warnings recomputed on the
built marts. Counts and shares only; the generated data stays in a scratch folder removed afterwards.
`--keep` keeps the warehouse database (e.g. for a build-time measurement on the same data) and prints its URL.
WAREHOUSE_SERVER=postgresql://postgres@127.0.0.1:5432/postgres (default) selects the server.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

from lintas import pipeline, settings, warehouse
from lintas.load.raw import RunContext
from lintas_sandbox import load

CTX = RunContext("bench_warnings", "bench")

# The mart warnings, as the share each one bounds (numerator, denominator) over the built marts.
MART_SHARES = {
    ("marts_dim_person", "at most 2% of persons with more than one valid NIK"):
        "select count(*) filter (where distinct_valid_niks > 1), count(*) from {schema}.dim_person",
    ("marts_dim_person", "at least 80% of persons with a valid NIK"):
        "select count(*) filter (where nik_is_valid), count(*) from {schema}.dim_person",
    ("marts_dim_person", "at most 5% of persons without a resolved kelurahan"):
        "select count(*) filter (where kode_kelurahan is null), count(*) from {schema}.dim_person",
    ("marts_rpt_kelurahan_needs", "at most 5% of needs in an unknown kelurahan"):
        "select coalesce(sum(persons) filter (where kode_kelurahan = 'TIDAK DIKETAHUI'), 0), sum(persons)"
        " from {schema}.rpt_kelurahan_needs",
    # the lowest month: the warning fires on any month below its bar
    ("marts_rpt_dtks_kelurahan_summary", "at least 87% of a month's members with a well-formed NIK"):
        "select ok, n from (select sum(members_with_wellformed_nik) ok, sum(members) n"
        " from {schema}.rpt_dtks_kelurahan_summary group by periode) m order by ok::float / n limit 1",
}


def warning_expectations() -> list[dict]:
    """Every warning of the reviewed suites: suite, expectation type, column or description, its bound."""
    found = []
    for path in sorted((settings.expectations_dir() / "suites").glob("*.json")):
        for e in json.loads(path.read_text(encoding="utf-8"))["expectations"]:
            if e.get("severity") == "warning":
                kwargs = e["kwargs"]
                bound = (f"mostly {kwargs['mostly']}" if "mostly" in kwargs else
                         f">= {kwargs['min_value']}" if "min_value" in kwargs else e.get("description"))
                found.append({"suite": path.stem, "type": e["type"], "column": kwargs.get("column"),
                              "description": e.get("description"), "bound": bound})
    return found


def load_and_build(out: Path) -> None:
    load.deliver_generated(out, CTX)
    try:
        pipeline.build_warehouse(CTX)
    except pipeline.PipelineFailed as failure:  # a critical mart check: still measure the warnings on marts_build
        print(f"build held back: {str(failure).splitlines()[0]}")


def raw_observations(url: str) -> list[dict]:
    """Per raw warning: batches checked, how many fired, the lowest and highest observed value."""
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            "select suite, expectation, column_name, count(*), count(*) filter (where not success),"
            " min(coalesce(unexpected_percent, observed_value::float)),"
            " max(coalesce(unexpected_percent, observed_value::float))"
            " from audit.gate_result where severity = 'warning' and batch_id is not null"
            " group by 1, 2, 3 order by 1, 2, 3").fetchall()
    return [{"suite": s, "type": t, "column": c, "batches": n, "fired": f, "min": lo, "max": hi}
            for s, t, c, n, f, lo, hi in rows]


def mart_observations(url: str) -> list[dict]:
    with warehouse.connect(url) as conn:
        schema = "marts" if conn.execute("select to_regclass('marts.dim_person')").fetchone()[0] else "marts_build"
        fired = dict(((s, d), not ok) for s, d, ok in conn.execute(
            "select suite, description, success from audit.gate_result where severity = 'warning'"
            " and batch_id is null"))
        found = []
        for (suite, description), query in MART_SHARES.items():
            part, whole = conn.execute(query.format(schema=schema)).fetchone()
            part, whole = int(part or 0), int(whole or 0)
            found.append({"suite": suite, "description": description, "part": part, "whole": whole,
                          "percent": 100.0 * part / whole if whole else None,
                          "fired": fired.get((suite, description))})
    return found


def two_nik_persons(url: str) -> dict:
    """Persons carrying more than one valid NIK, by what tells their NIKs apart: every other NIK one edit (a
    substituted or two swapped digits) from one of theirs, or the birth-date digits (7-12) the same, or neither."""
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            "select person_id, array_agg(distinct nik) from intermediate.int_identity__person_records"
            " where nik_is_valid group by person_id having count(distinct nik) > 1").fetchall()
        persons = conn.execute("select count(distinct person_id) from intermediate.int_identity__person_records"
                               ).fetchone()[0]

    def one_edit(a: str, b: str) -> bool:
        diff = [i for i in range(len(a)) if a[i] != b[i]] if len(a) == len(b) else None
        return diff is not None and (len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]))

    counts = {"persons": persons, "two_or_more": len(rows), "one_edit": 0, "same_birth_digits": 0, "unexplained": 0}
    for _, niks in rows:
        if all(any(one_edit(a, b) for b in niks if b != a) for a in niks):
            counts["one_edit"] += 1
        elif len({n[6:12] for n in niks}) == 1:
            counts["same_birth_digits"] += 1
        else:
            counts["unexplained"] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", choices=["default", "second"], default="default")
    parser.add_argument("--json", type=Path, help="also write the observations here")
    parser.add_argument("--keep", action="store_true", help="keep the warehouse database")
    args = parser.parse_args()
    from lintas_sandbox import demo

    server = os.environ.get("WAREHOUSE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = warehouse.with_database(server, f"lintas_bench_warnings_{uuid.uuid4().hex[:8]}")
    with tempfile.TemporaryDirectory(prefix="bench-warnings-") as tmp:
        out = Path(tmp)
        os.environ["WAREHOUSE_URL"] = url
        os.environ["LINTAS_HOME"] = str(out / "home")
        settings.reload()
        started = time.perf_counter()
        demo.generate(out, args.scale, args.seed, args.profile)
        warehouse.prepare(url)
        try:
            load_and_build(out)
            seconds = time.perf_counter() - started
            result = {"scale": args.scale, "profile": args.profile, "seed": args.seed, "seconds": round(seconds),
                      "load_average_15min": round(os.getloadavg()[2], 1), "warnings": warning_expectations(),
                      "raw": raw_observations(url), "marts": mart_observations(url),
                      "two_nik": two_nik_persons(url)}
        finally:
            if not args.keep:
                warehouse.drop_database(url)
    print(f"\nscale={args.scale} profile={args.profile} seed={args.seed}: {result['seconds']} s,"
          f" load average (15 min) {result['load_average_15min']}")
    bounds = {(w["suite"], w["type"], w["column"]): w["bound"] for w in result["warnings"]}
    print(f"{'raw suite':<28} {'expectation':<52} {'column':<14} {'batches':>7} {'fired':>5} {'min':>8} {'max':>8}"
          f"  threshold")
    for r in result["raw"]:
        print(f"{r['suite']:<28} {r['type']:<52} {r['column'] or '':<14} {r['batches']:>7} {r['fired']:>5}"
              f" {r['min']:>8.3f} {r['max']:>8.3f}  {bounds.get((r['suite'], r['type'], r['column']))}")
    print("(not-null, regex, in-set: unexpected percent of the batch's rows; proportion unique: the share)")
    for m in result["marts"]:
        print(f"{m['suite']:<34} {m['description']:<60} {m['part']:>8,} / {m['whole']:>9,} = {m['percent']:7.3f}%"
              f"  fired: {m['fired']}")
    t = result["two_nik"]
    print(f"persons with >1 valid NIK: {t['two_or_more']:,} of {t['persons']:,}; one edit apart {t['one_edit']:,},"
          f" same birth digits {t['same_birth_digits']:,}, neither {t['unexplained']:,}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    if args.keep:
        print(f"warehouse kept: {warehouse.redact(url)}")


if __name__ == "__main__":
    main()
