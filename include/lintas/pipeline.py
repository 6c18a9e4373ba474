"""What each DAG task does, importable and testable without a running Airflow.

Task bodies return small dicts of ids, counts and reasons (they go to XCom): never personal data.
"""

from __future__ import annotations

import hashlib
import logging
import pkgutil
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from psycopg import sql

from lintas import settings, sources, warehouse
from lintas.digest import update_with_files
from lintas.extract import dapodik, izin
from lintas.extract.contract import ContractError, is_not_a_delivery
from lintas.load.raw import IngestReport, RunContext, ingest_files, last_watermark, load_delivery, record_rejection
from lintas.quality import gate
from lintas.transform import dbt, publish

log = logging.getLogger(__name__)


class PipelineFailed(RuntimeError):
    """The run must fail visibly: a gate failed or a delivery was rejected. Message names what, never values."""


class PullRejected(PipelineFailed):
    """An API pull broke the contract (e.g. its pages contradict meta.total): recorded as a rejected batch,
    nothing stored, watermark kept. A verdict on the data, so Airflow does not retry it; the next scheduled run
    pulls again."""


# Errors a retry cannot fix: the task fails at once and loudly.
FATAL_ERRORS = (settings.ConfigurationError, dapodik.ApiAuthError, dapodik.ApiRequestError,
                izin.SourceAccessDenied, PullRejected)


def run_context(airflow_context) -> RunContext:
    """Lineage for a load from an Airflow task's context."""
    return RunContext(airflow_context["dag"].dag_id, airflow_context["run_id"])


def prepare_warehouse() -> dict:
    url = warehouse.prepare(warehouse.warehouse_url())
    return {"warehouse": warehouse.redact(url)}


def build_inputs_fingerprint(conn) -> str:
    """Hash of everything a build reads: the accepted batches (and what retention purged of them), the dbt
    project (models, macros, seeds, snapshots: dbt.project_fingerprint), the mart suites, the linkage code, its
    model and rules, the reviewers' decisions, and the region served. Equal fingerprints build equal marts."""
    from lintas.identity import scoring

    digest = hashlib.sha256()
    digest.update(repr(conn.execute(
        "select count(*), coalesce(sum(batch_id), 0), coalesce(max(batch_id), 0), coalesce(sum(rows_purged), 0),"
        " max(purged_at)::text from audit.load_batch where status = 'accepted'").fetchone()).encode())
    digest.update(repr(conn.execute(
        "select count(*), coalesce(max(review_decision_id), 0) from identity.review_decision").fetchone()).encode())
    digest.update(f"{dbt.project_fingerprint()} {settings.region_codes()} {scoring.model_path()}".encode())
    for top, pattern in ((scoring.model_path(), "*"),
                         (Path(scoring.__file__).parent, "*.py"),  # the linkage code and its rules
                         (settings.expectations_dir() / "suites", "*.json"),  # the mart gate
                         (settings.expectations_dir() / "checkpoints", "*.yml")):
        update_with_files(digest, top, pattern)
    return digest.hexdigest()


def build_needed(ctx: RunContext, *, full_refresh: bool = False, source: str | None = None,
                 period: str | None = None, force: bool = False) -> dict:
    """Whether the build has anything to do. A build is skipped only when its inputs (build_inputs_fingerprint)
    equal those of the build analysts see now (the last *published* one): a build held back by a failed gate or
    dbt test is always tried again, so it stays red until fixed. Hand runs with full_refresh, source, period or
    force always build. The fingerprint of a build that goes ahead is recorded under its run id (audit.build_input)."""
    with warehouse.connect(warehouse.warehouse_url()) as conn:
        fingerprint = build_inputs_fingerprint(conn)
        published = conn.execute(
            "select e.airflow_run_id, i.fingerprint from audit.publish_event e"
            " left join audit.build_input i on i.airflow_run_id = e.airflow_run_id"
            " where e.outcome = 'published' order by e.publish_event_id desc limit 1").fetchone()
        if full_refresh or source or period or force:
            reason = "hand run: " + ", ".join(k for k, v in (("full_refresh", full_refresh), ("source", source),
                                                              ("period", period), ("force", force)) if v)
        elif published is None:
            reason = "nothing published yet"
        elif published[1] is None:
            reason = "the published build's inputs were not recorded"
        elif published[1] != fingerprint:
            reason = "inputs changed since the published build"
        else:
            log.info("nothing changed since the published build (run %s): build skipped", published[0])
            return {"build": False, "reason": "nothing changed since the published build",
                    "published_run_id": published[0]}
        if ctx.run_id:
            conn.execute(
                "insert into audit.build_input (airflow_run_id, airflow_dag_id, fingerprint) values (%s, %s, %s)"
                " on conflict (airflow_run_id) do update set fingerprint = excluded.fingerprint,"
                " recorded_at = now()", (ctx.run_id, ctx.dag_id, fingerprint))
    log.info("build goes ahead: %s", reason)
    return {"build": True, "reason": reason}


def extract_files(source_name: str, ctx: RunContext) -> dict:
    """Read every delivery in the source's outbox. Hidden files, lock files and partial uploads are ignored
    quietly; any other file is a delivery, so a name outside the contract is rejected (recorded, and the run
    fails at the gate), never skipped with a log line only. One bad file never stops the others."""
    source, table = sources.find(source_name)
    if source.channel is not sources.Channel.FILE_OUTBOX:
        raise ValueError(f"{source_name} is not delivered as files but by {source.channel}")
    folder = settings.outbox_dir(source.agency)
    if not folder.is_dir():
        raise PipelineFailed(f"outbox folder for {source.agency} does not exist: {folder}")
    files = [p for p in folder.iterdir() if p.is_file() and not is_not_a_delivery(p)]
    reader = pkgutil.resolve_name(source.reader)
    with warehouse.connect(warehouse.warehouse_url()) as conn:
        report = ingest_files(conn, source=table.name, files=files, parse=reader.read, table=table.relation,
                              ctx=ctx)
    _log_report(report)
    return report.as_dict()


def _log_report(report: IngestReport) -> None:
    log.info("%s: %d new batch(es), %d skipped, %d rejected, %d rows stored, %d already held, %d quarantined",
             report.source, len(report.loaded), len(report.skipped), len(report.rejected), report.rows_loaded,
             report.rows_duplicate, report.rows_quarantined)


def _ingest_pull(conn, table: sources.RawTable, pull, ctx: RunContext) -> IngestReport:
    """Run one incremental pull and load it; a contract breach is recorded as a rejected delivery."""
    report = IngestReport(source=table.name)
    try:
        delivery = pull()
    except ContractError as exc:
        # one rejection row per run: the same breach seen again next run is recorded again
        record_rejection(conn, table.name, exc.source_ref, f"rejected:{ctx.run_id}:{exc.source_ref}",
                         exc.reason, ctx)
        report.rejected.append({"source_ref": exc.source_ref, "reason": exc.reason})
        return report
    report.add(load_delivery(conn, delivery, table.relation, ctx), delivery)
    _log_report(report)
    return report


def extract_dapodik(ctx: RunContext, base_url: str | None = None, token: str | None = None) -> dict:
    """Pull students changed since the last watermark (minus the overlap) from the Dapodik API."""
    base_url, token = settings.dapodik_api(base_url, token)
    table = sources.raw_table(dapodik.SOURCE)
    with warehouse.connect(warehouse.warehouse_url()) as conn:
        since = dapodik.next_since(last_watermark(conn, table.name))
        report = _ingest_pull(conn, table, lambda: dapodik.pull(base_url, token, since), ctx)
    if report.rejected:  # the extract task itself fails: no gate runs, no asset event, no build
        reasons = "; ".join(r["reason"] for r in report.rejected)
        raise PullRejected(f"{table.name}: pull rejected ({reasons}); nothing stored, watermark kept, the next "
                           "scheduled run pulls again")
    return report.as_dict()


def extract_izin(ctx: RunContext, url: str | None = None) -> dict:
    """Pull permits and their KBLI rows changed since each table's last watermark (minus the overlap)."""
    engine = izin.engine_for(settings.dpmptsp_url(url))
    reports = {}
    try:
        with warehouse.connect(warehouse.warehouse_url()) as conn:
            for table in izin.TABLES:
                reports[table.source] = _pull_izin_table(conn, engine, table, ctx)
    finally:
        engine.dispose()
    return reports


def _pull_izin_table(conn, engine, izin_table: izin.Table, ctx: RunContext) -> dict:
    table = sources.raw_table(izin_table.source)
    since = izin.next_since(last_watermark(conn, table.name))
    pulled = []

    def pull():
        pulled.append(izin.pull(engine, izin_table, since, recheck_ids=_held_for_updated_at(conn, table)))
        return pulled[-1]

    report = _ingest_pull(conn, table, pull, ctx).as_dict()
    # held back for lack of a usable updated_at: counted every run, also when their quarantine is not news
    report["rows_without_timestamp"] = sum(map(izin.without_timestamp, pulled))
    return report


def _held_for_updated_at(conn, table: sources.RawTable) -> list[str]:
    """Ids quarantined for their updated_at with no version in raw since: the next pull looks them up by key."""
    query = sql.SQL("""
        select distinct q.raw_record::jsonb -> 0 ->> 'id'
        from quarantine.row_error q join audit.load_batch b using (batch_id)
        where q.source = %s and q.field = 'updated_at' and b.status <> 'rejected'
          and not exists (select 1 from {raw} r join audit.load_batch rb on rb.batch_id = r._batch_id
                          where rb.status <> 'rejected' and r.id = q.raw_record::jsonb -> 0 ->> 'id')
        """).format(raw=sql.Identifier("raw", table.name))
    return [r[0] for r in conn.execute(query, (table.name,)) if r[0] is not None]


def gate_batches(source_name: str, ctx: RunContext) -> dict:
    """Gate every loaded-but-ungated batch of the source; never raises for a verdict (see `delivery_verdict`)."""
    table = sources.raw_table(source_name)
    url = warehouse.warehouse_url()
    results = [gate.run_gate(table.checkpoint, batch_id, url=url, run_id=ctx.run_id)
               for batch_id in gate.pending_batches(table.name, url)]
    return {
        "source": table.name,
        "accepted": [r.batch_id for r in results if r.passed],
        "rejected": [r.batch_id for r in results if not r.passed],
        "failed_checks": [r.summary() for r in results if not r.passed],
        "warnings": sum(len(r.warnings) for r in results),
        "data_docs": str(gate.data_docs_index()),
    }


def rejections_of_run(source_name: str, ctx: RunContext) -> list[str]:
    """Every delivery of the source this run rejected, at delivery or by the gate: "<delivery>: <reason>"."""
    with warehouse.connect(warehouse.warehouse_url()) as conn:
        rows = conn.execute(
            "select b.source_ref, b.rejection_reason from audit.load_batch b"
            " where b.source = %s and b.status = 'rejected' and ("
            "  (b.airflow_dag_id is not distinct from %s and b.airflow_run_id is not distinct from %s)"
            "  or exists (select 1 from audit.gate_result g"
            "             where g.batch_id = b.batch_id and g.airflow_run_id is not distinct from %s))"
            " order by b.batch_id",
            (source_name, ctx.dag_id, ctx.run_id, ctx.run_id)).fetchall()
    return [f"{ref} rejected: {reason}" for ref, reason in rows]


def delivery_verdict(source_name: str, ctx: RunContext) -> dict:
    """Fail the run, naming each delivery and why, if this run rejected any delivery of the source. Runs after
    the gate has let the accepted ones through to the warehouse: one bad delivery never holds back a good one."""
    problems = rejections_of_run(source_name, ctx)
    if problems:
        raise PipelineFailed(f"{source_name}: {len(problems)} delivery(ies) held back from the warehouse\n"
                             + "\n".join(problems))
    return {"source": source_name, "rejected": 0}


def gate_source(source_name: str, extract_report: dict, ctx: RunContext) -> dict:
    """Gate, then judge, in one call (CLI and tests; the DAGs split it into `gate_batches` and
    `delivery_verdict`). Fails if a gate failed here or the extract rejected a delivery."""
    outcome = gate_batches(source_name, ctx)
    problems = outcome["failed_checks"] + [f"delivery {r['source_ref']} rejected: {r['reason']}"
                                           for r in extract_report.get("rejected", [])]
    if problems:
        raise PipelineFailed(f"{source_name}: held back from the warehouse\n" + "\n".join(problems))
    return outcome


def _dbt_step(ctx: RunContext, url: str, invoke: Callable[[str], dbt.DbtOutcome]) -> dict:
    """One dbt invocation (`invoke(url)`); every node's result goes to audit.dbt_run_result, on failure too."""
    try:
        outcome = invoke(url)
    except dbt.DbtFailed as failure:
        dbt.record(failure.outcome, dag_id=ctx.dag_id, run_id=ctx.run_id, url=url)
        raise
    dbt.record(outcome, dag_id=ctx.dag_id, run_id=ctx.run_id, url=url)
    return {"dbt": dict(Counter(r["status"] for r in outcome.results))}


def build_linkage_input(ctx: RunContext | None = None) -> dict:
    """Seeds (if their files changed), staging and the unified source records identity resolution reads."""
    ctx = ctx or RunContext()
    load_seeds(ctx)
    return _dbt_step(ctx, warehouse.warehouse_url(), lambda url: dbt.build(url, selector=dbt.LINKAGE_INPUT))


def load_seeds(ctx: RunContext | None = None) -> dict:
    """The reference seeds, only if their files changed since they were loaded."""
    ctx = ctx or RunContext()
    url = warehouse.warehouse_url()
    seeded = dbt.load_seeds(url)
    if seeded is None:
        return {"seeded": False}
    dbt.record(seeded, dag_id=ctx.dag_id, run_id=ctx.run_id, url=url)
    return {"seeded": True, "dbt": dict(Counter(r["status"] for r in seeded.results))}


def link_identities(ctx: RunContext | None = None) -> dict:
    """Every source record to a stable person id (identity.*). Returns counts only."""
    from lintas.identity import linkage

    return linkage.link(warehouse.warehouse_url(), run_id=(ctx or RunContext()).run_id)


def build_marts(ctx: RunContext | None = None) -> dict:
    """Everything downstream of linkage, with dbt's tests, into a fresh build schema (`marts_build`): analysts
    keep querying the published `marts` until the mart gate has passed and `publish_marts` swaps it in."""
    ctx = ctx or RunContext()
    publish.reset_build_schema(warehouse.warehouse_url())
    try:
        return _dbt_step(ctx, warehouse.warehouse_url(), lambda url: dbt.build(url, selector=dbt.MARTS))
    except dbt.DbtFailed as failure:
        _hold_back(ctx, [r["unique_id"] for r in failure.outcome.results if r["status"] in dbt.FAILED_STATUSES])
        raise


def _hold_back(ctx: RunContext, failed: list[str]) -> None:
    publish.record_held_back(url=warehouse.warehouse_url(), dag_id=ctx.dag_id, run_id=ctx.run_id, failed=failed,
                             reason=f"dbt build failed: {', '.join(failed) or 'see the task log'}")


def record_dbt_artifacts(project_dir: str, ctx: RunContext) -> dict:
    """Every node's result of a dbt invocation Airflow ran in `project_dir` (Cosmos' copy of the project) into
    audit.dbt_run_result, whether the invocation failed or not."""
    outcome = dbt.read_outcome(Path(project_dir) / "target" / "run_results.json")
    dbt.record(outcome, dag_id=ctx.dag_id, run_id=ctx.run_id, url=warehouse.warehouse_url())
    return {"dbt": dict(Counter(r["status"] for r in outcome.results))}


def hold_back_failed_build(ctx: RunContext) -> dict:
    """The marts' dbt build failed (a model, a test or dbt itself): record once that nothing is published, naming
    the failed nodes this run recorded."""
    with warehouse.connect(warehouse.warehouse_url()) as conn:
        failed = [r[0] for r in conn.execute(
            "select distinct unique_id from audit.dbt_run_result where airflow_dag_id is not distinct from %s"
            " and airflow_run_id = %s and status = any(%s) order by 1",
            (ctx.dag_id, ctx.run_id, list(dbt.FAILED_STATUSES)))]
    _hold_back(ctx, failed)
    return {"held_back": failed}


def reset_build_schema() -> None:
    """An empty build schema before the marts' dbt task group (the Airflow build) writes into it."""
    publish.reset_build_schema(warehouse.warehouse_url())


def gate_marts(ctx: RunContext | None = None) -> dict:
    """The mart gate: every built mart table against its reviewed suite, as SQL in PostgreSQL. A critical failure
    (or a mart without a suite) fails the run naming the checks; nothing is published."""
    ctx = ctx or RunContext()
    url = warehouse.warehouse_url()
    results = gate.run_mart_gate(publish.BUILD_SCHEMA, url=url, run_id=ctx.run_id)
    failed = [r for r in results if not r.passed]
    if failed:
        names = [f"{r.gate}: {c.describe()}" for r in failed for c in r.critical_failures]
        publish.record_held_back(url=url, dag_id=ctx.dag_id, run_id=ctx.run_id, failed=[r.gate for r in failed],
                                 reason="mart gate failed: " + "; ".join(names))
        raise PipelineFailed("marts held back, analysts keep the last published version: mart gate failed\n"
                             + "\n".join(r.summary() for r in failed))
    partitions = gate.rows_per_partition(publish.BUILD_SCHEMA, url=url)
    for table, counts in partitions.items():
        log.info("%s rows per kab/kota partition: %s", table, ", ".join(f"{p} {n}" for p, n in counts.items()))
    return {"checked": {r.gate: len(r.checks) for r in results}, "warnings": sum(len(r.warnings) for r in results),
            "rows_per_partition": partitions, "data_docs": str(gate.data_docs_index())}


def publish_marts(ctx: RunContext | None = None) -> dict:
    """Swap the gated build schema into `marts` in one transaction; record the publish event."""
    ctx = ctx or RunContext()
    try:
        return publish.publish(url=warehouse.warehouse_url(), dag_id=ctx.dag_id, run_id=ctx.run_id)
    except publish.PublishRefused as refused:
        raise PipelineFailed(f"marts not published: {refused}") from refused


def check_source_freshness(ctx: RunContext | None = None) -> dict:
    """dbt source freshness of every raw source, recorded in audit.source_freshness and shown in the run report.
    A stale source is reported (task log, report), never a reason to hold back the other sources' fresh data."""
    ctx = ctx or RunContext()
    url = warehouse.warehouse_url()
    verdicts = dbt.source_freshness(url)
    dbt.record_freshness(verdicts, dag_id=ctx.dag_id, run_id=ctx.run_id, url=url)
    for v in verdicts:
        if v.status != "pass":
            log.warning("source %s freshness %s: newest accepted delivery %s (warn after %s, error after %s)",
                        v.source, v.status.upper(), v.max_loaded_at or "never", v.warn_after, v.error_after)
    return {status: sorted(v.source for v in verdicts if v.status == status)
            for status in sorted({v.status for v in verdicts})}


def record_history(ctx: RunContext | None = None) -> dict:
    """dbt snapshots (type-2 history of what was published), taken once the build is published."""
    return _dbt_step(ctx or RunContext(), warehouse.warehouse_url(), lambda url: dbt.run(["snapshot"], url))


def build_warehouse(ctx: RunContext | None = None) -> dict:
    """The whole build: linkage input, identity resolution, the marts into the build schema, the mart gate,
    the atomic publish, then the history snapshots. Outside Airflow the run gets its own id (the gate's results
    are found by it)."""
    if ctx is None or ctx.run_id is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        ctx = RunContext(ctx.dag_id if ctx else None, f"cli__{stamp}__{uuid.uuid4().hex[:8]}")
    return {"input": build_linkage_input(ctx), "identity": link_identities(ctx), "marts": build_marts(ctx),
            "gate": gate_marts(ctx), "publish": publish_marts(ctx), "history": record_history(ctx)}


def anything_to_gate(source_name: str, extract_report: dict) -> bool:
    """True when the source has batches waiting for the gate or the pull rejected a delivery."""
    return bool(gate.pending_batches(source_name, warehouse.warehouse_url()) or extract_report.get("rejected"))
