"""What the run report and the CLI summary show, read from the audit tables and shaped for display.

Counts, rates, statuses, and names of files, columns, rules and dbt nodes only: nothing here selects a raw row
or quarantine.row_error.raw_record. A check is the gate's own `CheckResult`, as the gate recorded it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from lintas import warehouse
from lintas.quality.gate import CheckResult
from lintas.report import build_health, trends
from lintas.report.trends import TrendPoint

DBT_FAILED = ("error", "fail", "runtime error")

RunKey = tuple[str | None, str | None]  # (Airflow DAG id, run id); both None for a load outside Airflow


@dataclass
class Batch:
    batch_id: int
    source: str
    source_ref: str
    period: str | None
    status: str
    rows_extracted: int
    rows_loaded: int
    rows_duplicate: int
    rows_quarantined: int
    extra_columns: list[str]
    rejection_reason: str | None
    dag_id: str | None
    run_id: str | None
    loaded_at: datetime
    gated_at: datetime | None
    checks: list[CheckResult] = field(default_factory=list)  # of the latest validation
    gate_runs: set[str | None] = field(default_factory=set)  # Airflow run(s) that latest validation ran in
    quarantine: list[tuple[str, str, int]] = field(default_factory=list)  # field, rule, rows

    @property
    def reconciles(self) -> bool:
        return self.rows_extracted == self.rows_loaded + self.rows_quarantined + self.rows_duplicate

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success]

    @property
    def verdict(self) -> tuple[str, str]:
        """(label, css class) of this delivery."""
        if self.status == "accepted":
            warnings = len(self.failed_checks)
            return ("ACCEPTED" + (f", {warnings} warning(s)" if warnings else ""), "warn" if warnings else "ok")
        if self.status == "rejected":
            return ("REJECTED by the gate", "bad") if self.checks else ("REJECTED at delivery", "bad")
        return ("NOT YET GATED", "pending")

    def gated_in_other_runs(self, run_id: str | None) -> list[str]:
        """The run(s) the batch was validated in, when that is not the run that delivered it."""
        return [] if self.gate_runs == {run_id} else sorted(map(str, self.gate_runs))


@dataclass
class DbtInvocation:
    dag_id: str | None
    run_id: str | None
    invocation_id: str
    started: datetime
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # unique_id, status (failed or warned)

    @property
    def failed(self) -> int:
        return sum(n for status, n in self.counts.items() if status in DBT_FAILED)

    @property
    def verdict(self) -> tuple[str, str]:
        return ("FAILED", "bad") if self.failed else ("SUCCEEDED", "ok")


@dataclass
class Run:
    dag_id: str | None
    run_id: str | None
    started: datetime
    batches: list[Batch] = field(default_factory=list)
    dbt: list[DbtInvocation] = field(default_factory=list)

    def batches_by_source(self) -> list[tuple[str, list[Batch]]]:
        by_source: dict[str, list[Batch]] = {}
        for b in self.batches:
            by_source.setdefault(b.source, []).append(b)
        return sorted(by_source.items())


@dataclass
class SourceVerdict:
    source: str
    dag_id: str | None
    run_id: str | None
    started: datetime
    batches: list[Batch]

    @property
    def verdict(self) -> tuple[str, str]:
        statuses = Counter(b.status for b in self.batches)
        if statuses["rejected"]:
            return "FAILED", "bad"
        if statuses["loaded"]:
            return "NOT YET GATED", "pending"
        warnings = sum(len(b.failed_checks) for b in self.batches)
        return ("PASSED" + (f" with {warnings} warning(s)" if warnings else ""), "warn" if warnings else "ok")


@dataclass
class Publish:
    """One attempt to publish a build's marts: published, or held back by a dbt test or the mart gate."""

    dag_id: str | None
    run_id: str | None
    at: datetime
    outcome: str
    tables: dict
    row_count: int | None
    swap_seconds: float | None
    reason: str | None
    mart_checks: int = 0
    failed_checks: list[tuple[str, CheckResult]] = field(default_factory=list)  # (suite, check) of the mart gate

    @property
    def published(self) -> bool:
        return self.outcome == "published"


@dataclass
class ReportData:
    runs: list[Run]
    latest: list[SourceVerdict]
    latest_build: DbtInvocation | None
    trends: dict[str, list[TrendPoint]]
    nik_thresholds: dict[str, float]
    publishes: list[Publish] = field(default_factory=list)
    freshness: list[build_health.FreshnessVerdict] = field(default_factory=list)
    model_timings: list[build_health.ModelTiming] = field(default_factory=list)

    @property
    def overall(self) -> tuple[str, str]:
        """(label, css class) for the whole warehouse: every source's latest run, the latest build and publish."""
        if not self.latest and self.latest_build is None:
            return "NO RUNS RECORDED", "pending"
        problems = [v for v in self.latest if v.verdict[1] in ("bad", "pending")]
        build_failed = self.latest_build is not None and self.latest_build.failed > 0
        if problems or build_failed or (self.publishes and not self.publishes[0].published):
            return "ATTENTION NEEDED", "bad"
        return "ALL PASSED", "ok"


def batches(conn, runs: list[RunKey] | None = None, source: str | None = None) -> list[Batch]:
    """Deliveries, newest first (all, or those of the given runs and source), each with its latest validation's
    checks and its quarantine counts."""
    rows = conn.execute(
        """
        select b.batch_id, b.source, b.source_ref, b.period, b.status, b.rows_extracted, b.rows_loaded,
               b.rows_duplicate, b.rows_quarantined, b.extra_columns, b.rejection_reason, b.airflow_dag_id,
               b.airflow_run_id, b.loaded_at, b.gated_at
        from audit.load_batch b
        where (%(dag_ids)s::text[] is null or exists (
                  select 1 from unnest(%(dag_ids)s::text[], %(run_ids)s::text[]) as r(dag_id, run_id)
                  where b.airflow_dag_id is not distinct from r.dag_id
                    and b.airflow_run_id is not distinct from r.run_id))
          and (%(source)s::text is null or b.source = %(source)s)
        order by b.batch_id desc
        """,
        {"dag_ids": None if runs is None else [r[0] for r in runs],
         "run_ids": None if runs is None else [r[1] for r in runs], "source": source},
    ).fetchall()
    found = [Batch(*row[:9], list(row[9] or []), *row[10:]) for row in rows]
    _attach_details(conn, found)
    return found


def _check(row) -> CheckResult:
    """A CheckResult from audit.gate_result's expectation .. description columns, in the table's order."""
    expectation, column, severity, success, elements, unexpected, percent, observed, expected, description = row
    return CheckResult(expectation, column, severity, success, elements, unexpected,
                       None if percent is None else float(percent), observed, expected, description)


def _attach_details(conn, found: list[Batch]) -> None:
    """Each batch's latest gate validation and its quarantine counts (never raw_record)."""
    by_id = {b.batch_id: b for b in found}
    if not by_id:
        return
    checks = conn.execute(
        """
        select g.batch_id, g.airflow_run_id, g.expectation, g.column_name, g.severity, g.success, g.element_count,
               g.unexpected_count, g.unexpected_percent, g.observed_value, g.expected, g.description
        from (
            select *, max(validated_at) over (partition by batch_id) as latest
            from audit.gate_result where batch_id = any(%s)
        ) g
        where g.validated_at = g.latest
        order by g.batch_id, g.gate_result_id
        """,
        (list(by_id),),
    )
    for batch_id, run_id, *check in checks:
        by_id[batch_id].checks.append(_check(check))
        by_id[batch_id].gate_runs.add(run_id)
    held = conn.execute(
        "select batch_id, field, rule, count(*) from quarantine.row_error where batch_id = any(%s)"
        " group by 1, 2, 3 order by 1, 4 desc, 2, 3",
        (list(by_id),),
    )
    for batch_id, field_name, rule, rows in held:
        by_id[batch_id].quarantine.append((field_name, rule, rows))


def _dbt_invocations(conn, runs: list[RunKey]) -> list[DbtInvocation]:
    """The dbt invocations of the given runs, newest first, with their failed and warned nodes."""
    keys = ([r[0] for r in runs], [r[1] for r in runs])
    invocations: dict[tuple, DbtInvocation] = {}
    rows = conn.execute(
        """
        select d.airflow_dag_id, d.airflow_run_id, d.invocation_id, d.status, count(*), min(d.recorded_at)
        from audit.dbt_run_result d
        join unnest(%s::text[], %s::text[]) as r(dag_id, run_id)
            on d.airflow_dag_id is not distinct from r.dag_id and d.airflow_run_id is not distinct from r.run_id
        group by 1, 2, 3, 4
        """,
        keys,
    )
    for dag_id, run_id, invocation_id, status, count, started in rows:
        inv = invocations.setdefault((dag_id, run_id, invocation_id),
                                     DbtInvocation(dag_id, run_id, invocation_id, started))
        inv.counts[status] = count
        inv.started = min(inv.started, started)
    problems = conn.execute(
        """
        select d.airflow_dag_id, d.airflow_run_id, d.invocation_id, d.unique_id, d.status
        from audit.dbt_run_result d
        join unnest(%s::text[], %s::text[]) as r(dag_id, run_id)
            on d.airflow_dag_id is not distinct from r.dag_id and d.airflow_run_id is not distinct from r.run_id
        where d.status = any(%s)
        order by d.status, d.unique_id
        """,
        (*keys, [*DBT_FAILED, "warn"]),
    )
    for dag_id, run_id, invocation_id, unique_id, status in problems:
        invocations[(dag_id, run_id, invocation_id)].problems.append((unique_id, status))
    return sorted(invocations.values(), key=lambda i: i.started, reverse=True)


def _latest_build(conn) -> DbtInvocation | None:
    """One verdict for the latest warehouse-build run, over all its dbt invocations."""
    last = conn.execute(
        "select airflow_dag_id, airflow_run_id from audit.dbt_run_result order by recorded_at desc,"
        " dbt_run_result_id desc limit 1"
    ).fetchone()
    builds = _dbt_invocations(conn, [tuple(last)]) if last else []
    if not builds:
        return None
    build = DbtInvocation(last[0], last[1], f"{len(builds)} dbt invocation(s)", min(b.started for b in builds))
    for b in builds:
        for status, n in b.counts.items():
            build.counts[status] = build.counts.get(status, 0) + n
        build.problems += b.problems
    return build


def publishes(conn, limit: int | None = None) -> list[Publish]:
    """Publish attempts, newest first (the latest `limit`, or all), each with its run's mart gate checks (failed
    ones in full)."""
    found = [Publish(*row[:4], row[4] or {}, row[5], None if row[6] is None else float(row[6]), row[7])
             for row in conn.execute(
                 "select airflow_dag_id, airflow_run_id, published_at, outcome, tables, row_count, swap_seconds,"
                 " reason from audit.publish_event order by publish_event_id desc limit %s", (limit,))]
    checks = [(run_id, suite, _check(check)) for run_id, suite, *check in conn.execute(
        """
        select airflow_run_id, suite, expectation, column_name, severity, success, element_count, unexpected_count,
               unexpected_percent, observed_value, expected, description
        from audit.gate_result where batch_id is null and airflow_run_id = any(%s)
        order by gate_result_id
        """,
        (sorted({p.run_id for p in found if p.run_id}),),
    )]
    for p in found:
        of_run = [(suite, check) for run_id, suite, check in checks if run_id == p.run_id]
        p.mart_checks = len(of_run)
        p.failed_checks += [(suite, check) for suite, check in of_run if not check.success]
    return found


def report_data(url: str, runs: int = 20) -> ReportData:
    """Everything the run report shows: the latest `runs` Airflow runs that loaded or built, each source's latest
    run, the latest build, trends, publishes, freshness and model timings."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    with warehouse.connect(url) as conn:
        run_rows = conn.execute(
            """
            with r as (
                select airflow_dag_id as dag_id, airflow_run_id as run_id, min(loaded_at) as started
                from audit.load_batch group by 1, 2
                union all
                select airflow_dag_id, airflow_run_id, min(recorded_at) from audit.dbt_run_result group by 1, 2
            )
            select dag_id, run_id, min(started) as started from r
            group by 1, 2 order by started desc, run_id desc limit %s
            """,
            (runs,),
        ).fetchall()
        grouped = {(dag_id, run_id): Run(dag_id, run_id, started) for dag_id, run_id, started in run_rows}
        for b in batches(conn, list(grouped)):
            grouped[(b.dag_id, b.run_id)].batches.append(b)
        for inv in _dbt_invocations(conn, list(grouped)):
            grouped[(inv.dag_id, inv.run_id)].dbt.append(inv)

        latest = []
        for source, dag_id, run_id in conn.execute(
                "select distinct on (source) source, airflow_dag_id, airflow_run_id from audit.load_batch"
                " order by source, loaded_at desc, batch_id desc").fetchall():
            of_run = batches(conn, [(dag_id, run_id)], source)
            latest.append(SourceVerdict(source, dag_id, run_id, min(b.loaded_at for b in of_run), of_run))

        recent = trends.recent_batches(conn)
        return ReportData(runs=list(grouped.values()), latest=latest, latest_build=_latest_build(conn),
                          trends=recent, nik_thresholds=trends.nik_thresholds(recent), publishes=publishes(conn, runs),
                          freshness=build_health.freshness(conn), model_timings=build_health.model_timings(conn))
