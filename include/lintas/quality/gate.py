"""Run reviewed GX suites inside PostgreSQL and record the verdict: on each raw batch (the raw gates) and on
every freshly built mart table before it is published (the mart gate).

The reviewed suites and checkpoint definitions live in `expectations/` (source; see its README). GX's own
project, with its validation history and Data Docs, is build output under LINTAS_HOME/gx. Expectations run as
SQL in the warehouse; result formats never carry row values, so neither the audit tables nor Data Docs hold
personal data.

Suite parameters: a raw suite may bound a batch by the source's previous accepted batch, e.g.
`"min_value": {"$PARAMETER": "previous_accepted_rows * 0.9"}` (may not shrink more than 10%). The gate fills
`previous_accepted_rows` (rows loaded by the latest accepted batch of the same source before this one, 0 if none)
with one SQL query; GX evaluates the bound and counts the batch's rows in PostgreSQL.

Region placeholders: `{region_kelurahan_count}`, `{region_kabkota_sql}` etc. (lintas.region.gate_parameters) in a
suite's text are replaced by the configured region's values before GX reads it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import fasteners
import yaml
from psycopg import sql

from lintas import settings, warehouse
from lintas.quality import data_docs

log = logging.getLogger(__name__)

# Counts and rates only: partial_unexpected_list would carry NIKs and names into Data Docs.
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0}
DATASOURCE = "warehouse"
_URL_ENV = "LINTAS_GX_WAREHOUSE_URL"  # GX substitutes it at run time, so no password is written to disk


class GateFailed(RuntimeError):
    """A critical expectation failed. The message names the failed checks, never row values."""


@dataclass(frozen=True)
class CheckResult:
    expectation: str
    column: str | None
    severity: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    observed_value: str | None
    expected: str | None = None  # the bound checked, where there is one (e.g. ">= 1080")
    description: str | None = None  # the reviewer's name for the check (custom SQL checks have no column)

    def describe(self) -> str:
        where = f"({self.column})" if self.column else (f' "{self.description}"' if self.description else "")
        detail = ""
        if self.unexpected_percent is not None:
            detail = f": {self.unexpected_count} of {self.element_count} unexpected ({self.unexpected_percent:.2f}%)"
        elif self.observed_value is not None:
            detail = f": observed {self.observed_value}"
        if self.expected is not None:
            detail += f" (expected {self.expected})"
        return f"{self.expectation}{where}{detail}"


@dataclass
class GateResult:
    gate: str
    batch_id: int | None
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def critical_failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity == "critical"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity != "critical"]

    @property
    def passed(self) -> bool:
        return not self.critical_failures

    def summary(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        target = f" batch {self.batch_id}" if self.batch_id is not None else ""
        lines = [f"gate {self.gate}{target}: {verdict} "
                 f"({len(self.checks)} checks, {len(self.critical_failures)} critical failures, "
                 f"{len(self.warnings)} warnings)"]
        lines += [f"  critical: {c.describe()}" for c in self.critical_failures]
        lines += [f"  warning: {c.describe()}" for c in self.warnings]
        return "\n".join(lines)


@dataclass(frozen=True)
class Checkpoint:
    """A reviewed checkpoint definition from expectations/checkpoints/<name>.yml."""

    name: str
    suite: str
    relation: str
    batch_column: str | None = None

    @classmethod
    def for_mart(cls, table: str, schema: str) -> Checkpoint:
        """Marts need no checkpoint file: one suite per table, `marts_<table>`, run on the whole table."""
        name = mart_suite(table)
        return cls(name=name, suite=name, relation=f"{schema}.{table}")

    @classmethod
    def load(cls, name: str) -> Checkpoint:
        path = settings.expectations_dir() / "checkpoints" / f"{name}.yml"
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls(name=spec["name"], suite=spec["suite"], relation=spec["relation"],
                   batch_column=spec.get("batch_column"))

    def query(self, batch_id: int | None) -> str:
        """The rows the suite checks, as SQL text for GX's query asset."""
        query = sql.SQL("select * from {}").format(sql.Identifier(*self.relation.split(".")))
        if self.batch_column is not None:
            query = sql.SQL("{} where {} = {}").format(query, sql.Identifier(self.batch_column),
                                                       sql.Literal(int(batch_id)))
        return query.as_string()


MART_SUITE_PREFIX = "marts_"


def mart_suite(table: str) -> str:
    return MART_SUITE_PREFIX + table


def suite_path(name: str) -> Path:
    return settings.expectations_dir() / "suites" / f"{name}.json"


def gx_root() -> Path:
    return settings.lintas_home() / "gx"


def data_docs_site() -> Path:
    return gx_root() / "gx" / "uncommitted" / "data_docs" / "local_site"


def data_docs_index() -> Path:
    return data_docs_site() / "index.html"


def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=str(gx_root()))
    # Task logs are for engineers: no progress bars.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _as_check(result) -> CheckResult:
    config = result.expectation_config
    body = result.result or {}
    observed = body.get("observed_value")
    bounds = [f"{op} {config.kwargs[key]}" for key, op in (("min_value", ">="), ("max_value", "<="))
              if config.kwargs.get(key) is not None]
    return CheckResult(
        expectation=config.type,
        column=config.kwargs.get("column"),
        severity=str(getattr(config.severity, "value", config.severity or "critical")).lower(),
        success=bool(result.success),
        element_count=body.get("element_count"),
        unexpected_count=body.get("unexpected_count"),
        unexpected_percent=body.get("unexpected_percent"),
        observed_value=None if observed is None else str(observed),
        expected=" and ".join(bounds) or None,
        description=getattr(config, "description", None),
    )


def run_gate(name: str, batch_id: int | None, *, url: str, run_id: str | None = None) -> GateResult:
    """Validate one raw batch against the checkpoint's suite, record every check in audit.gate_result,
    build Data Docs. Returns the result; does not raise on failure (see `enforce`)."""
    parameters = {"previous_accepted_rows": previous_accepted_rows(batch_id, url)} if batch_id is not None else {}
    return run_checkpoint(Checkpoint.load(name), batch_id, url=url, run_id=run_id, parameters=parameters)


def previous_accepted_rows(batch_id: int, url: str) -> int:
    """Rows loaded by the latest accepted batch of the same source (and kab/kota, for a source delivered per
    kab/kota) before this one (0 if there is none)."""
    with warehouse.connect(url) as conn:
        row = conn.execute(
            """
            select previous.rows_loaded
            from audit.load_batch current
            join audit.load_batch previous
              on previous.source = current.source and previous.status = 'accepted'
             and previous.kode_kabkota is not distinct from current.kode_kabkota
             and previous.batch_id < current.batch_id
            where current.batch_id = %s
            order by previous.batch_id desc
            limit 1
            """,
            (batch_id,),
        ).fetchone()
    return int(row[0]) if row else 0


def _with_region(suite_text: str) -> str:
    """A suite's `{region_...}` placeholders (counts and codes of the configured region, lintas.region) filled in:
    one reviewed suite serves any region."""
    if "{region_" not in suite_text:
        return suite_text
    from lintas import region

    for placeholder, value in region.gate_parameters().items():
        suite_text = suite_text.replace(placeholder, value)
    return suite_text


def run_checkpoint(checkpoint: Checkpoint, batch_id: int | None, *, url: str,
                   run_id: str | None = None, parameters: dict | None = None,
                   update_data_docs: bool = True) -> GateResult:
    """Run one checkpoint's suite as SQL in the warehouse, record every check, build Data Docs (unless the caller
    builds them once after a series of checkpoints: each build renders the whole site)."""
    import great_expectations as gx

    name = checkpoint.name
    suite_json = json.loads(_with_region(suite_path(checkpoint.suite).read_text(encoding="utf-8")))
    settings.export_for_in_process_libraries({_URL_ENV: warehouse.sqlalchemy_url(url)})
    gx_root().mkdir(parents=True, exist_ok=True)
    # One GX project on disk: serialise writers (parallel gate tasks).
    with fasteners.InterProcessLock(str(gx_root() / ".lock")):
        context = _context()
        datasource = context.data_sources.add_or_update_postgres(
            name=DATASOURCE, connection_string="${" + _URL_ENV + "}"
        )
        try:
            datasource.delete_asset(name)
        except LookupError:
            pass
        asset = datasource.add_query_asset(name=name, query=checkpoint.query(batch_id))
        batch_definition = asset.add_batch_definition_whole_table("batch")
        suite = context.suites.add_or_update(gx.ExpectationSuite(**suite_json))
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch_definition, suite=suite)
        )
        gx_checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=name,
                validation_definitions=[definition],
                actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")] if update_data_docs else [],
                result_format=RESULT_FORMAT,
            )
        )
        run_name = f"{run_id or 'manual'}__batch_{batch_id}"
        outcome = gx_checkpoint.run(run_id=gx.RunIdentifier(run_name=run_name),
                                    expectation_parameters=parameters or None)
        if update_data_docs:
            data_docs.make_offline(data_docs_site())

    result = GateResult(gate=name, batch_id=batch_id)
    for validation in outcome.run_results.values():
        result.checks.extend(_as_check(r) for r in validation.results)
    _record(url, result, suite=checkpoint.suite, run_id=run_id)
    log.info(result.summary())
    return result


def _record(url: str, result: GateResult, *, suite: str, run_id: str | None) -> None:
    with warehouse.connect(url) as conn, conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            """
            insert into audit.gate_result
                (batch_id, suite, expectation, column_name, severity, success, element_count,
                 unexpected_count, unexpected_percent, observed_value, airflow_run_id, expected, description)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            [
                (result.batch_id, suite, c.expectation, c.column, c.severity, c.success, c.element_count,
                 c.unexpected_count, c.unexpected_percent, c.observed_value, run_id, c.expected, c.description)
                for c in result.checks
            ],
        )
        if result.batch_id is not None:
            cur.execute(
                "update audit.load_batch set status = %s, gated_at = now(), rejection_reason = %s"
                " where batch_id = %s",
                (
                    "accepted" if result.passed else "rejected",
                    None if result.passed else "gate failed: " + "; ".join(
                        c.describe() for c in result.critical_failures),
                    result.batch_id,
                ),
            )


def rows_per_partition(schema: str, *, url: str) -> dict[str, dict[str, int]]:
    """table -> partition -> rows, for the schema's partitioned marts (by kab/kota, macros/partitioning.sql):
    what each region contributes, and whether anything fell into the default partition (a kab/kota not served,
    or an unresolved kelurahan)."""
    with warehouse.connect(url) as conn:
        partitions = conn.execute(
            "select p.relname, c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid"
            " join pg_class p on p.oid = i.inhparent join pg_namespace n on n.oid = p.relnamespace"
            " where n.nspname = %s and c.relispartition and c.relkind in ('r', 'p') order by 1, 2",
            (schema,)).fetchall()
        counts: dict[str, dict[str, int]] = {}
        for table, partition in partitions:
            counts.setdefault(table, {})[partition] = conn.execute(sql.SQL("select count(*) from {}").format(
                sql.Identifier(schema, partition))).fetchone()[0]
    return counts


def run_mart_gate(schema: str, *, url: str, run_id: str | None = None) -> list[GateResult]:
    """Check every table dbt built into the build schema against its suite `marts_<table>`.

    Generic on purpose: a mart without a reviewed suite fails (a new mart cannot reach analysts unchecked), and
    so does a suite whose mart was not built (a published mart would silently vanish). Both are recorded in
    audit.gate_result like any other check. Returns one result per table or suite; does not raise."""
    with warehouse.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = %s and c.relkind in ('r', 'p') and not c.relispartition order by 1", (schema,))]
    suites = sorted(p.stem for p in (settings.expectations_dir() / "suites").glob(f"{MART_SUITE_PREFIX}*.json"))
    results = []
    for table in tables:
        if mart_suite(table) in suites:
            results.append(run_checkpoint(Checkpoint.for_mart(table, schema), None, url=url, run_id=run_id,
                                          update_data_docs=False))
        else:
            results.append(_structural_failure(
                url, mart_suite(table), run_id, "lintas_mart_has_reviewed_suite",
                f"no suite expectations/suites/{mart_suite(table)}.json for this mart"))
    built = {mart_suite(t) for t in tables}
    for suite in suites:
        if suite not in built:
            results.append(_structural_failure(
                url, suite, run_id, "lintas_suite_has_built_mart",
                f"the build has no table {suite.removeprefix(MART_SUITE_PREFIX)} for this suite"))
    with fasteners.InterProcessLock(str(gx_root() / ".lock")):
        _context().build_data_docs()  # once for all marts
        data_docs.make_offline(data_docs_site())
    return results


def _structural_failure(url: str, suite: str, run_id: str | None, check: str, description: str) -> GateResult:
    result = GateResult(gate=suite, batch_id=None, checks=[CheckResult(
        expectation=check, column=None, severity="critical", success=False, element_count=None,
        unexpected_count=None, unexpected_percent=None, observed_value=None, description=description)])
    _record(url, result, suite=suite, run_id=run_id)
    log.error(result.summary())
    return result


def pending_batches(source: str, url: str) -> list[int]:
    """Batches loaded but not yet gated (including ones a crashed run left behind)."""
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            "select batch_id from audit.load_batch where source = %s and status = 'loaded' order by batch_id",
            (source,),
        )
        return [r[0] for r in rows]


def enforce(results: list[GateResult]) -> None:
    failed = [r for r in results if not r.passed]
    if failed:
        raise GateFailed("\n".join(r.summary() for r in failed))
