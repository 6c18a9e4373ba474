"""Peak memory of the linkage stage per phase, on a dump of its input (`bench_linkage.py --dump DIR`).

    .venv/bin/python bench/linkage_memory.py DIR [--save-persons FILE] [--compare-persons FILE] [--keep]

Loads the dump's records into a fresh warehouse database (WAREHOUSE_SERVER, name prefix BENCH_DATABASE_PREFIX,
default lintas_bench_; only `intermediate.int_identity__source_records`, no dbt), runs `linkage.link` in a child
process exactly as the Airflow task does, and prints per phase its seconds and the peak resident memory of the
child while the phase ran (/proc/self/statm sampled every 50 ms), then records, persons, the cross-agency quality
against the dump's truth, and a fingerprint of the persons (the partition of the records, not the ids).
`--save-persons` writes the partition (record key -> a representative record key) to compare runs;
`--compare-persons` says how many persons differ from a saved one. Counts only, never a record's values.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import multiprocessing
import os
import sys
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from bench_linkage import own_peak_mb, print_quality  # noqa: E402

from lintas import settings, warehouse  # noqa: E402
from lintas.identity import features, linkage  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
TABLE_TYPES = {"nik_from_number_cell": "boolean", "tanggal_lahir": "date"}  # every other column text


def load_dump(url: str, records: pd.DataFrame) -> None:
    """The dump's records as intermediate.int_identity__source_records (the columns the linkage reads)."""
    columns = ", ".join(f'"{c}" {TABLE_TYPES.get(c, "text")}' for c in features.SOURCE_COLUMNS)
    with warehouse.connect(url) as conn, conn.transaction():
        conn.execute("create schema if not exists intermediate")
        conn.execute(f"create table intermediate.int_identity__source_records ({columns})")
        with conn.cursor() as cur, cur.copy(
                f"copy intermediate.int_identity__source_records ({', '.join(features.SOURCE_COLUMNS)}) from stdin"
        ) as copy:
            for row in records[features.SOURCE_COLUMNS].itertuples(index=False, name=None):
                copy.write_row(row)
        conn.execute("create unique index on intermediate.int_identity__source_records (record_key)")
        conn.execute("analyze intermediate.int_identity__source_records")


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


class _PhaseTracker(logging.Handler):
    """Follows `linkage`'s "phase started" debug messages: the phase now running."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.current = "start"

    def emit(self, record):
        if record.getMessage().startswith("linkage phase "):
            self.current = record.getMessage().removeprefix("linkage phase ")


def link_profiled(url: str) -> tuple[dict, dict[str, float], float]:
    """`linkage.link` with the peak RSS (MB) per phase it ran and the process's peak (VmHWM)."""
    tracker = _PhaseTracker()
    logger = logging.getLogger(linkage.__name__)
    logger.addHandler(tracker)
    logger.setLevel(logging.DEBUG)
    peaks: dict[str, float] = defaultdict(float)
    done = threading.Event()

    def sample():
        while not done.wait(0.05):
            phase = tracker.current
            peaks[phase] = max(peaks[phase], _rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        summary = linkage.link(url, run_id="memory")
    finally:
        done.set()
        sampler.join()
    return summary, dict(peaks), own_peak_mb()


def partition(person_of: dict[str, int]) -> dict[str, str]:
    """record key -> the smallest record key of its person: comparable between runs whatever the ids."""
    first: dict[int, str] = {}
    for key, person in person_of.items():
        if person not in first or key < first[person]:
            first[person] = key
    return {key: first[person] for key, person in person_of.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dump", type=Path)
    parser.add_argument("--save-persons", type=Path, help="write the persons (a pickle; personal data: private)")
    parser.add_argument("--compare-persons", type=Path, help="a --save-persons file of another run")
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    args = parser.parse_args()
    server = os.environ.get("WAREHOUSE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres")
    prefix = os.environ.get("BENCH_DATABASE_PREFIX", "lintas_bench_")
    url = warehouse.with_database(server, f"{prefix}{uuid.uuid4().hex[:8]}")
    os.environ["WAREHOUSE_URL"] = url
    settings.reload()
    records = pd.read_pickle(args.dump / "records.pkl")
    warehouse.prepare(url)
    try:
        began = time.perf_counter()
        load_dump(url, records)
        print(f"{len(records):,} records loaded in {time.perf_counter() - began:.0f}s", flush=True)
        del records
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            summary, peaks, peak = pool.submit(link_profiled, url).result()
        seconds = time.perf_counter() - started
        with warehouse.connect(url) as conn:
            person_of = dict(conn.execute("select record_key, person_id from identity.person_record"))
    finally:
        if args.keep:
            print(f"database kept: {warehouse.redact(url)}")
        else:
            warehouse.drop_database(url)
    print(f"linkage: {summary['records']:,} records -> {summary['persons']:,} persons, {seconds:.1f}s,"
          f" child peak {peak:,.0f} MB; load average (15 min) {os.getloadavg()[2]:.1f}")
    print(f"{'phase':<30} {'s':>7} {'peak MB':>9}")
    for phase in dict.fromkeys([*summary["phases"], *peaks]):
        print(f"{phase:<30} {summary['phases'].get(phase, ''):>7} {peaks.get(phase, 0):>9,.0f}")
    persons = partition(person_of)
    digest = hashlib.sha256("\n".join(f"{k} {v}" for k, v in sorted(persons.items())).encode()).hexdigest()[:16]
    print(f"persons fingerprint {digest}")
    if args.save_persons:
        pd.Series(persons).to_pickle(args.save_persons)
    if args.compare_persons:
        other = pd.read_pickle(args.compare_persons).to_dict()
        differ = sum(persons.get(k) != v for k, v in other.items()) + len(persons.keys() - other.keys())
        print(f"records whose person differs from {args.compare_persons.name}: {differ:,}")
    true = pd.read_pickle(args.dump / "truth.pkl").to_dict()
    print_quality(persons, true, indent="  ")


if __name__ == "__main__":
    main()
