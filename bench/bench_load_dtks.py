"""Benchmark: parse + COPY one DTKS monthly snapshot into a fresh warehouse database.

    .venv/bin/python bench/bench_load_dtks.py --scale city
    WAREHOUSE_SERVER=postgresql://postgres@127.0.0.1:5432/postgres (default) selects the server.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

from lintas import warehouse
from lintas.extract import dtks
from lintas.load.raw import RunContext, load_delivery
from lintas.synth import dtks as synth_dtks
from lintas.synth import population


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="city")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    server = os.environ.get("WAREHOUSE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = warehouse.with_database(server, f"lintas_bench_{uuid.uuid4().hex[:8]}")

    started = time.perf_counter()
    pop = population.generate(args.scale, args.seed)
    generated = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        counts = synth_dtks.render(pop, Path(out), months=1)
        rendered = time.perf_counter()
        [path] = (Path(out) / "outbox" / "dinsos").glob("*.csv")
        delivery = dtks.read(path)
        parsed = time.perf_counter()
        warehouse.prepare(url)
        try:
            with warehouse.connect(url) as conn:
                t0 = time.perf_counter()
                load_delivery(conn, delivery, "raw.dinsos_dtks", RunContext("bench", "bench"))
                loaded = time.perf_counter()
        finally:
            warehouse.drop_database(url)
    rows = len(delivery.rows)
    print(f"scale={args.scale} residents={len(pop.persons):,} dtks_rows={rows:,} file={list(counts)[0]}")
    print(f"generate population   {generated - started:6.1f}s")
    print(f"render DTKS CSV       {rendered - generated:6.1f}s")
    print(f"parse (contract)      {parsed - rendered:6.1f}s  {rows / (parsed - rendered):>10,.0f} rows/s")
    print(f"COPY into raw         {loaded - t0:6.1f}s  {rows / (loaded - t0):>10,.0f} rows/s")
    print(f"parse + COPY          {loaded - t0 + parsed - rendered:6.1f}s  "
          f"{rows / (loaded - t0 + parsed - rendered):>10,.0f} rows/s")


if __name__ == "__main__":
    main()
