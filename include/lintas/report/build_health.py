"""What the run report shows about the warehouse build itself: each raw source's freshness verdict and the
slowest dbt models of the latest build against their own recent median (audit tables only, no row values)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SLOWEST_MODELS = 15
TREND_BUILDS = 10  # earlier builds a model's median time is taken over


@dataclass(frozen=True)
class FreshnessVerdict:
    source: str
    status: str  # pass, warn, error, runtime error, no data
    max_loaded_at: datetime | None
    age_days: float | None
    warn_after: str | None
    error_after: str | None
    checked_at: datetime


@dataclass(frozen=True)
class ModelTiming:
    model: str  # dbt unique id, e.g. model.lintas.dim_person
    status: str
    seconds: float
    median_seconds: float | None  # over the model's previous builds (None: first build)
    builds: int  # how many previous builds the median is over

    @property
    def slower_than_usual(self) -> bool:
        """Twice its recent median and at least a second more: worth a look, not yet a verdict."""
        return self.median_seconds is not None and self.seconds > max(2 * self.median_seconds,
                                                                      self.median_seconds + 1)


def freshness(conn) -> list[FreshnessVerdict]:
    """The newest freshness verdict of every source."""
    rows = conn.execute(
        "select distinct on (source) source, status, max_loaded_at, age_seconds / 86400.0, warn_after,"
        " error_after, checked_at from audit.source_freshness order by source, checked_at desc,"
        " source_freshness_id desc").fetchall()
    return [FreshnessVerdict(r[0], r[1], r[2], None if r[3] is None else float(r[3]), *r[4:]) for r in rows]


def model_timings(conn) -> list[ModelTiming]:
    """The slowest models of the latest build (all its dbt invocations), each with its median over the previous
    builds, so a model that suddenly takes far longer (a lost plan, a grown table) stands out."""
    rows = conn.execute(
        """
        with models as (
            select airflow_dag_id as dag_id, airflow_run_id as run_id, unique_id, status, execution_time,
                   recorded_at
            from audit.dbt_run_result where resource_type = 'model' and execution_time is not null
        ),
        builds as (
            select dag_id, run_id, max(recorded_at) as finished,
                   row_number() over (order by max(recorded_at) desc) as recency
            from models group by 1, 2
        ),
        latest as (
            select m.unique_id, max(m.status) as status, sum(m.execution_time) as seconds
            from models m join builds b on b.dag_id is not distinct from m.dag_id
                and b.run_id is not distinct from m.run_id
            where b.recency = 1 group by 1
        ),
        earlier as (
            select m.unique_id, percentile_cont(0.5) within group (order by m.execution_time) as median_seconds,
                   count(distinct (b.dag_id, b.run_id)) as builds
            from models m join builds b on b.dag_id is not distinct from m.dag_id
                and b.run_id is not distinct from m.run_id
            where b.recency between 2 and %s group by 1
        )
        select l.unique_id, l.status, l.seconds, e.median_seconds, coalesce(e.builds, 0)
        from latest l left join earlier e using (unique_id)
        order by l.seconds desc, l.unique_id limit %s
        """,
        (TREND_BUILDS + 1, SLOWEST_MODELS),
    ).fetchall()
    return [ModelTiming(r[0], r[1], float(r[2]), None if r[3] is None else float(r[3]), int(r[4])) for r in rows]
