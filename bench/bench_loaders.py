"""Benchmark: every extract channel at a given scale, extract and load timed apart, into a fresh warehouse.

    .venv/bin/python bench/bench_loaders.py --scale city
    WAREHOUSE_SERVER=postgresql://postgres@127.0.0.1:5432/postgres (default) selects the server.

Channels: DTKS CSV (one monthly snapshot), Dapodik API (the stand-in HTTP server on loopback, 1000 per page),
UMKM XLSX workbooks, DPMPTSP permits and KBLI (SQLite stand-in). "extract" is reading and checking the delivery
against the contract; "load" is the raw loader (COPY, plus row-version dedupe for incremental sources).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from lintas import warehouse
from lintas.extract import dapodik, dtks, izin, umkm
from lintas.extract.contract import Delivery
from lintas.load.raw import RunContext, load_delivery
from lintas_sandbox.standins.dapodik import DapodikServer
from lintas_sandbox.synth import dapodik as synth_dapodik
from lintas_sandbox.synth import dtks as synth_dtks
from lintas_sandbox.synth import izin as synth_izin
from lintas_sandbox.synth import population
from lintas_sandbox.synth import umkm as synth_umkm

CTX = RunContext("bench", "bench")
TOKEN = "bench-token"


def _timed(fn: Callable):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def _channels(out: Path) -> dict[str, tuple[str, Callable[[], list[Delivery]]]]:
    engine = izin.engine_for(synth_izin.default_url(out))

    def dapodik_pull() -> list[Delivery]:
        with DapodikServer.from_jsonl(out / "sources" / "dapodik" / "peserta_didik.jsonl", token=TOKEN) as api:
            return [dapodik.pull(api.base_url, TOKEN, None)]

    return {
        "DTKS CSV": ("raw.dinsos_dtks",
                     lambda: [dtks.read(p) for p in sorted((out / "outbox" / "dinsos").glob("*.csv"))]),
        "Dapodik API": ("raw.disdik_peserta_didik", dapodik_pull),
        "UMKM XLSX": ("raw.diskopindag_umkm",
                      lambda: [umkm.read(p) for p in sorted((out / "outbox" / "diskopindag").glob("*.xlsx"))]),
        "Permits DB": ("raw.dpmptsp_izin_usaha", lambda: [izin.pull(engine, izin.IZIN_USAHA, None)]),
        "Permit KBLI DB": ("raw.dpmptsp_izin_usaha_kbli", lambda: [izin.pull(engine, izin.IZIN_USAHA_KBLI, None)]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="city")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    server = os.environ.get("WAREHOUSE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = warehouse.with_database(server, f"lintas_bench_{uuid.uuid4().hex[:8]}")

    pop, seconds = _timed(lambda: population.generate(args.scale, args.seed))
    print(f"scale={args.scale} residents={len(pop.persons):,} families={len(pop.households):,} "
          f"(population {seconds:.1f}s)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for name, render in (("DTKS", lambda: synth_dtks.render(pop, out, months=1)),
                             ("Dapodik", lambda: synth_dapodik.render(pop, out)),
                             ("UMKM", lambda: synth_umkm.render(pop, out)),
                             ("Permits", lambda: synth_izin.render(pop, None, out))):
            _, seconds = _timed(render)
            print(f"render {name:<8} {seconds:6.1f}s")
        warehouse.prepare(url)
        try:
            print(f"\n{'channel':<15} {'rows':>9} {'extract s':>10} {'rows/s':>9} {'load s':>8} {'rows/s':>9}"
                  f" {'both rows/s':>12}")
            for name, (table, extract) in _channels(out).items():
                deliveries, extract_s = _timed(extract)
                rows = sum(len(d.rows) for d in deliveries)
                with warehouse.connect(url) as conn:
                    _, load_s = _timed(lambda c=conn, ds=deliveries, t=table: [load_delivery(c, d, t, CTX)
                                                                              for d in ds])
                print(f"{name:<15} {rows:>9,} {extract_s:>10.1f} {rows / extract_s:>9,.0f} {load_s:>8.1f}"
                      f" {rows / load_s:>9,.0f} {rows / (extract_s + load_s):>12,.0f}")
        finally:
            warehouse.drop_database(url)


if __name__ == "__main__":
    main()
