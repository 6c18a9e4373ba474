"""Benchmark: identity resolution on the generator's data, scored against the hidden truth.

    .venv/bin/python bench/bench_linkage.py --scale small|city|5 [--profile default|second] [--train]
        [--compare CANDIDATE_MODEL_JSON] [--backend duckdb|spark|duckdb,spark] [--generic] [--dump DIR]

Runs the real pipeline into a fresh warehouse database (every channel, the raw gates, dbt up to
int_identity__source_records), then `linkage.link` in a child process (seconds and peak memory of that process),
then scores pairwise precision / recall / F1 per source pair against the truth files, beside the exact-NIK-join
baseline (and with `--generic` an out-of-the-box Splink model, `generic_splink`). `--train` first re-estimates
the Splink model on this data (`training.retrain`: a new version under LINTAS_HOME/models/linkage, never the
reviewed model), compares it with the model in use and links with it.
`--compare` scores a retrained model and the reviewed one on this data and writes the comparison report beside the
candidate (lintas.identity.model_report).
`--backend` (LINTAS_LINKAGE_BACKEND) links on DuckDB, on Spark (local mode: `make spark`), or on both in turn on the
same warehouse: seconds and peak memory of each (the JVM's included), and whether they found the same persons.
WAREHOUSE_SERVER=postgresql://postgres@127.0.0.1:5432/postgres (default) selects the server,
BENCH_DATABASE_PREFIX (default lintas_bench_) the name of the fresh database.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import os
import resource
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from itertools import combinations_with_replacement
from pathlib import Path

import pandas as pd

from lintas import settings, warehouse
from lintas.identity import features, linkage, model_report, nik, scoring, training
from lintas.load.raw import RunContext
from lintas.transform import dbt
from lintas_sandbox import load
from lintas_sandbox.synth import dapodik as synth_dapodik
from lintas_sandbox.synth import dtks as synth_dtks
from lintas_sandbox.synth import izin as synth_izin
from lintas_sandbox.synth import population
from lintas_sandbox.synth import umkm as synth_umkm

CTX = RunContext("bench_linkage", "bench")
SOURCES = ["dinsos_dtks", "disdik_peserta_didik", "diskopindag_umkm", "dpmptsp_izin_usaha"]


def load_everything(out: Path) -> None:
    load.deliver_generated(out, CTX)
    dbt.run(["build", "--select", "+int_identity__source_records", "--fail-fast"], warehouse.warehouse_url())


def truth(out: Path) -> dict[str, int]:
    """record key -> true person id; records of no person (a badan usaha's director) get their own id."""
    mapping: dict[str, int] = {}
    folder = out / "truth"
    for row in csv.DictReader((folder / "dinsos_dtks.csv").open()):
        mapping[f"dinsos_dtks:{row['iddtks']}"] = int(row["person_id"])
    for row in csv.DictReader((folder / "disdik_peserta_didik.csv").open()):
        mapping[f"disdik_peserta_didik:{row['peserta_didik_id']}"] = int(row["person_id"])
    for row in csv.DictReader((folder / "diskopindag_umkm.csv").open()):
        mapping[f"diskopindag_umkm:{row['file']}!{row['sheet']}!{row['row_number']}"] = int(row["person_id"])
    for i, row in enumerate(csv.DictReader((folder / "dpmptsp_izin_usaha.csv").open())):
        mapping[f"dpmptsp_izin_usaha:{row['id']}"] = int(row["person_id"]) if row["person_id"] else -1 - i
    return mapping


def _pairs(cluster_of: dict[str, object]) -> Counter:
    """Number of record pairs in the same cluster, per (source, source)."""
    by_cluster: dict[object, Counter] = defaultdict(Counter)
    for key, cluster in cluster_of.items():
        by_cluster[cluster][key.split(":", 1)[0]] += 1
    pairs: Counter = Counter()
    for counts in by_cluster.values():
        for a, b in combinations_with_replacement(sorted(counts), 2):
            pairs[(a, b)] += counts[a] * (counts[a] - 1) // 2 if a == b else counts[a] * counts[b]
    return pairs


def _persons(person_of: dict[str, int]) -> set[frozenset[str]]:
    members: dict[int, set[str]] = defaultdict(set)
    for key, person in person_of.items():
        members[person].add(key)
    return {frozenset(m) for m in members.values()}


def score(predicted: dict[str, object], true: dict[str, int]) -> dict[tuple[str, str], tuple]:
    keys = [k for k in predicted if k in true]
    both = {k: (predicted[k], true[k]) for k in keys}
    tp, pp, tp_all = _pairs(both), _pairs({k: predicted[k] for k in keys}), _pairs({k: true[k] for k in keys})
    out = {}
    for pair in sorted(set(tp_all) | set(pp)):
        precision = tp[pair] / pp[pair] if pp[pair] else 1.0
        recall = tp[pair] / tp_all[pair] if tp_all[pair] else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[pair] = (precision, recall, f1, tp_all[pair], tp[pair], pp[pair])
    return out


def print_quality(predicted: dict[str, object], true: dict[str, int], indent: str = "") -> None:
    """Precision, recall and F1 per source pair, then over the cross-agency pairs (counts and ratios only)."""
    ours = score(predicted, true)
    cross = [k for k in ours if k[0] != k[1]]
    for pair in sorted(ours):
        p, r, f, n, _, _ = ours[pair]
        print(f"{indent}{pair[0] + ' x ' + pair[1]:<48} {n:>10,} P {p:.4f} R {r:.4f} F1 {f:.4f}")
    tp, n_true, n_pred = (sum(ours[k][i] for k in cross) for i in (4, 3, 5))
    print(f"cross-agency: precision {tp / max(n_pred, 1):.4f}, recall {tp / max(n_true, 1):.4f}")


def _tree_rss_mb(root) -> float:
    import psutil

    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def own_peak_mb() -> float:
    """This process's peak resident memory in MB: the kernel's high-water mark of its own address space (VmHWM).
    Not ru_maxrss: a spawned child inherits its parent's ru_maxrss across fork + exec, so a child started by this
    bench (whose parent holds the generated population and the truth, 6.9 GB at 5x city) reported the parent's
    peak as its own (the 7.3 GB "linkage peak at 5x" of 2026-12-07 was the bench's parent)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # no /proc: may include the parent's


def link_measured(url: str) -> tuple[dict, float, float]:
    """`linkage.link`, the peak resident memory of the process running it and the peak of it and its children
    together (sampled every 0.2 s: Spark's JVM is a child), in MB. Run in a child process: the peak of
    RUSAGE_CHILDREN would be that of the largest child so far, dbt's subprocess included."""
    import threading

    import psutil

    root, peak, done = psutil.Process(), [0.0], threading.Event()

    def sample():
        while not done.wait(0.2):
            peak[0] = max(peak[0], _tree_rss_mb(root))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        summary = linkage.link(url, run_id="bench")
    except Exception as exc:
        # Spark's Py4JJavaError holds a lock and cannot be pickled back to the parent, which would then report
        # only "cannot pickle '_thread.RLock' object": send its type and message (Spark's, no data values)
        try:
            message = str(exc)[:2000]
        except Exception:  # noqa: BLE001 - py4j's str() can fail once the JVM side is gone
            message = "(its message could not be read; the JVM's error is in stderr above)"
        raise RuntimeError(f"linkage failed in the child: {type(exc).__name__}: {message}") from None
    finally:
        done.set()
        sampler.join()
    own = own_peak_mb()
    return summary, own, max(peak[0], own)


def generic_splink(url: str) -> tuple[dict[str, str], float, float]:
    """The out-of-the-box baseline: Splink as its tutorials set it up on our features, none of our rules, caps
    or vetoes. Standard comparisons (exact NIK, name, birth date, sex, kelurahan, street), blocking on NIK, birth
    date + kelurahan, birth date + given name and full name + kelurahan, u by random sampling, m by EM, clusters at
    0.95. Returns record -> cluster, seconds and the peak MB of the (child) process."""
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    from lintas.identity import workspace

    began = time.perf_counter()
    prepared = features.prepare(features.read_source_records(url))
    frame = prepared[["unique_id", "nik", "name", "first_name", "last_name", "sex", "dob", "kelurahan", "street"]]
    del prepared
    blocking = [block_on("nik"), block_on("dob", "kelurahan"), block_on("dob", "first_name"),
                block_on("name", "kelurahan")]
    settings_ = SettingsCreator(
        link_type="dedupe_only", unique_id_column_name="unique_id",
        comparisons=[cl.ExactMatch("nik"), cl.NameComparison("name"),
                     cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y-%m-%d"),
                     cl.ExactMatch("sex"), cl.ExactMatch("kelurahan"), cl.LevenshteinAtThresholds("street", 2)],
        blocking_rules_to_generate_predictions=blocking, retain_intermediate_calculation_columns=False,
        retain_matching_columns=False)
    with workspace.duckdb_connection() as con:
        con.register("generic_input", frame)
        con.execute("create table generic_features as select * from generic_input")
        con.unregister("generic_input")
        linker = Linker(DuckDBAPI(connection=con).register("generic_features"), settings_)
        linker.training.estimate_probability_two_random_records_match([block_on("nik", "dob")], recall=0.8)
        linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "kelurahan"))
        predicted = linker.inference.predict(threshold_match_probability=0.5)
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(predicted, 0.95).as_pandas_dataframe()
    cluster_of = dict(zip(clustered["unique_id"], clustered["cluster_id"].astype(str), strict=True))
    return cluster_of, time.perf_counter() - began, own_peak_mb()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", choices=["default", "second"], default="default",
                        help="noise profile of the generated deliveries (lintas generate --profile)")
    parser.add_argument("--train", action="store_true", help="re-estimate and save the model on this data first")
    parser.add_argument("--compare", type=Path, help="a retrained model JSON: score it and the model in use on this"
                        " data and write the comparison report beside it")
    parser.add_argument("--backend", default="duckdb", help="LINTAS_LINKAGE_BACKEND of the linkage: duckdb, spark,"
                        " or duckdb,spark (both in turn on the same data, compared)")
    parser.add_argument("--generic", action="store_true", help="also score an out-of-the-box Splink model"
                        " (bench_linkage.generic_splink) beside ours and the exact-NIK join")
    parser.add_argument("--dump", type=Path, help="also save the linkage input and the truth here (pickle, for"
                        " bench/diagnose_linkage.py); it holds personal data: a private folder only")
    args = parser.parse_args()
    server = os.environ.get("WAREHOUSE_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres")
    prefix = os.environ.get("BENCH_DATABASE_PREFIX", "lintas_bench_")  # apart from other runs on the same server
    url = warehouse.with_database(server, f"{prefix}{uuid.uuid4().hex[:8]}")
    os.environ["WAREHOUSE_URL"] = url
    settings.reload()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        pop = population.generate(args.scale, args.seed, args.profile)
        synth_dtks.render(pop, out, months=1)
        synth_dapodik.render(pop, out)
        synth_umkm.render(pop, out)
        synth_izin.render(pop, None, out)
        true = truth(out)
        warehouse.prepare(url)
        try:
            started = time.perf_counter()
            load_everything(out)
            print(f"scale={args.scale} profile={args.profile} residents={len(pop.persons):,}: load + gates + dbt "
                  f"{time.perf_counter() - started:.0f}s")
            if args.dump:
                args.dump.mkdir(parents=True, exist_ok=True)
                features.read_source_records(url).to_pickle(args.dump / "records.pkl")
                pd.Series(true).to_pickle(args.dump / "truth.pkl")
            if args.train:
                started = time.perf_counter()
                trained = training.retrain(url)
                print(f"trained model {trained['model_version']} in {time.perf_counter() - started:.0f}s:"
                      f" {trained['path']} (the linkage below uses it)")
                args.compare = Path(trained["path"])
            if args.compare:
                bench = model_report.bench_scores(
                    {"reviewed": scoring.model_path(), "candidate": args.compare},
                    features.prepare(features.read_source_records(url)), true, score)
                written = model_report.write(model_report.compare(args.compare, bench=bench))
                print(f"model comparison: {written['markdown']}")
                for label, scores in bench.items():
                    print(f"  {label}: cross-agency precision {scores['precision']:.4f}, recall"
                          f" {scores['recall']:.4f}")
            if args.train:
                os.environ["LINTAS_LINKAGE_MODEL"] = str(args.compare)  # the child process links with it
                settings.reload()
            runs = {}
            for backend in args.backend.split(","):
                os.environ["LINTAS_LINKAGE_BACKEND"] = backend  # read by the spawned child's settings
                started = time.perf_counter()
                # in a child process, so its peak memory is measured alone; exceptions come back to here
                with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
                    summary, peak_mb, tree_mb = pool.submit(link_measured, url).result()
                seconds = time.perf_counter() - started
                with warehouse.connect(url) as conn:
                    predicted = dict(conn.execute("select record_key, person_id from identity.person_record"))
                runs[backend] = (summary, seconds, peak_mb, tree_mb, predicted)
            generic = None
            if args.generic:
                with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
                    generic = pool.submit(generic_splink, url).result()
            with warehouse.connect(url) as conn:
                raw_nik = dict(conn.execute(
                    "select record_key, nik from intermediate.int_identity__source_records"))
        finally:
            warehouse.drop_database(url)
    baseline = {k: (nik.clean(v) or f"none:{k}") for k, v in raw_nik.items()}
    print(f"machine: {os.cpu_count()} cores, load average over the last 15 min {os.getloadavg()[2]:.1f}")
    for backend, (summary, seconds, peak_mb, tree_mb, _) in runs.items():
        print(f"linkage ({backend}): {summary['records']:,} records -> {summary['persons']:,} persons, "
              f"{seconds:.1f}s, peak {peak_mb:,.0f} MB (child process), {tree_mb:,.0f} MB (with its children),"
              f" review pairs {summary['review_pairs']:,}")
        print("  seconds per phase: " + ", ".join(f"{k} {v}" for k, v in summary["phases"].items()))
    if len(runs) > 1:
        persons = {backend: _persons(run[4]) for backend, run in runs.items()}
        first, *others = persons
        for other in others:
            apart = persons[first] ^ persons[other]
            print(f"same persons on {first} and {other}: {not apart}"
                  + (f" ({len(apart)} record sets differ)" if apart else ""))
    predicted = runs[args.backend.split(",")[-1]][4]  # the quality of the last backend's persons
    ours, base = score(predicted, true), score(baseline, true)
    print(f"\n{'source pair':<48} {'true pairs':>10} {'P':>7} {'R':>7} {'F1':>7} | {'NIK P':>7} {'NIK R':>7}"
          f" {'NIK F1':>7}")
    for pair in sorted(ours):
        p, r, f, n, _, _ = ours[pair]
        bp, br, bf = base.get(pair, (1.0, 0.0, 0.0))[:3]
        print(f"{pair[0] + ' x ' + pair[1]:<48} {n:>10,} {p:>7.4f} {r:>7.4f} {f:>7.4f} | {bp:>7.4f} {br:>7.4f}"
              f" {bf:>7.4f}")
    cross = [k for k in ours if k[0] != k[1]]
    tables = [("ours", ours), ("exact NIK", base)]
    if generic:
        tables.append(("generic Splink", score(generic[0], true)))
        print(f"generic Splink: {generic[1]:.1f}s, peak {generic[2]:,.0f} MB (child process); per pair recall: "
              + ", ".join(f"{a.split('_')[0]}x{b.split('_')[0]} {tables[-1][1].get((a, b), (0, 0))[1]:.4f}"
                          for a, b in cross if ours[(a, b)][3]))
    for label, table in tables:
        tp, n_true, n_pred = (sum(table[k][i] for k in cross if k in table) for i in (4, 3, 5))
        precision, recall = tp / max(n_pred, 1), tp / max(n_true, 1)
        print(f"cross-agency pairs ({label}): precision {precision:.4f}, recall {recall:.4f},"
              f" F1 {2 * precision * recall / max(precision + recall, 1e-9):.4f}")


if __name__ == "__main__":
    main()
