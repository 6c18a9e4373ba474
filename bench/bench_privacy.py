"""Benchmark: data-subject requests and retention on the generator's data.

    .venv/bin/python bench/bench_privacy.py --scale small|city [--requests 20]

Generates the agencies' deliveries, runs the real pipeline into a fresh warehouse database (every channel, the
raw gates, the whole build), then times `lintas.privacy.subject.find` for NIKs sampled from marts.dim_person
(rows and relations found per request) and one retention run after ageing every batch by a year with a one-month
DTKS horizon (rows purged). Prints counts and seconds only, never a NIK. Drops its database at the end.
WAREHOUSE_SERVER=postgresql://postgres@127.0.0.1:5432/postgres (default) selects the server.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench_linkage import CTX, load_everything
from psycopg import sql

from lintas import pipeline, settings, warehouse
from lintas.privacy import retention, subject
from lintas_sandbox import demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="small")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    server = os.environ.get("WAREHOUSE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = warehouse.with_database(server, f"lintas_bench_privacy_{uuid.uuid4().hex[:8]}")
    os.environ["WAREHOUSE_URL"] = url
    settings.reload()
    out = Path(tempfile.mkdtemp(prefix="bench-privacy-"))
    try:
        warehouse.prepare(url)
        demo.generate(out, args.scale, seed=1)
        started = time.perf_counter()
        load_everything(out)
        pipeline.build_warehouse(CTX)
        print(f"pipeline: {time.perf_counter() - started:.0f}s")
        with warehouse.connect(url) as conn:
            niks = [r[0] for r in conn.execute(
                "select nik from marts.dim_person where nik_is_valid order by md5(person_id::text) limit %s",
                (args.requests,))]
        seconds, rows, relations = [], [], []
        for nik in niks:
            step = time.perf_counter()
            report = subject.find(nik, url)
            seconds.append(time.perf_counter() - step)
            rows.append(report.row_count)
            relations.append(len(report.found))
        print(f"subject requests: {len(niks)}; seconds median {statistics.median(seconds):.2f}, max {max(seconds):.2f};"
              f" rows median {statistics.median(rows)}, max {max(rows)}; relations median"
              f" {statistics.median(relations)}, max {max(relations)}")
        with warehouse.connect(url) as conn:
            conn.execute("update audit.load_batch set loaded_at = loaded_at - interval '1 year'")
            conn.execute("update quarantine.row_error set quarantined_at = quarantined_at - interval '1 year'")
            raw_before = sum(conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier("raw", s)))
                             .fetchone()[0] for s in retention.RAW_SOURCES)
        step = time.perf_counter()
        summary = retention.run(CTX, retention.RetentionRules(dtks_keep_periods=1), url)
        print(f"retention: {time.perf_counter() - step:.1f}s; raw rows {raw_before:,} -> "
              f"{raw_before - summary['raw_rows_purged']:,} ({summary['per_source']}); quarantine contents purged "
              f"{summary['quarantine_rows_purged']:,}; batches touched {summary['batches_touched']}")
    finally:
        warehouse.drop_database(url)
        shutil.rmtree(out, ignore_errors=True)  # synthetic, but personal-looking data


if __name__ == "__main__":
    main()
