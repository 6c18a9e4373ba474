"""Run a reviewed GX suite against one raw batch inside PostgreSQL and record the verdict.

The reviewed suites and checkpoint definitions live in `expectations/` (source). GX's own project, with its
validation history and Data Docs, is build output under LINTAS_HOME/gx. Expectations run as SQL in the warehouse;
result formats never carry row values, so neither the audit tables nor Data Docs hold personal data.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import fasteners
import yaml

from lintas import settings, warehouse

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

    def describe(self) -> str:
        where = f"({self.column})" if self.column else ""
        detail = ""
        if self.unexpected_percent is not None:
            detail = f": {self.unexpected_count} of {self.element_count} unexpected ({self.unexpected_percent:.2f}%)"
        elif self.observed_value is not None:
            detail = f": observed {self.observed_value}"
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
        lines = [f"gate {self.gate} batch {self.batch_id}: {verdict} "
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
    def load(cls, name: str) -> Checkpoint:
        path = settings.expectations_dir() / "checkpoints" / f"{name}.yml"
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls(name=spec["name"], suite=spec["suite"], relation=spec["relation"],
                   batch_column=spec.get("batch_column"))

    def query(self, batch_id: int | None) -> str:
        schema, table = self.relation.split(".")
        base = f'select * from "{schema}"."{table}"'
        if self.batch_column is None:
            return base
        return f'{base} where "{self.batch_column}" = {int(batch_id)}'


def suite_path(name: str) -> Path:
    return settings.expectations_dir() / "suites" / f"{name}.json"


def gx_root() -> Path:
    return settings.lintas_home() / "gx"


def data_docs_index() -> Path:
    return gx_root() / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"


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
    return CheckResult(
        expectation=config.type,
        column=config.kwargs.get("column"),
        severity=str(getattr(config.severity, "value", config.severity or "critical")).lower(),
        success=bool(result.success),
        element_count=body.get("element_count"),
        unexpected_count=body.get("unexpected_count"),
        unexpected_percent=body.get("unexpected_percent"),
        observed_value=None if observed is None else str(observed),
    )


def run_gate(name: str, batch_id: int | None, *, url: str | None = None, run_id: str | None = None) -> GateResult:
    """Validate one batch against the checkpoint's suite, record every check in audit.gate_result,
    build Data Docs. Returns the result; does not raise on failure (see `enforce`)."""
    import great_expectations as gx

    url = url or warehouse.warehouse_url()
    checkpoint = Checkpoint.load(name)
    suite_json = json.loads(suite_path(checkpoint.suite).read_text(encoding="utf-8"))
    os.environ[_URL_ENV] = warehouse.sqlalchemy_url(url)
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
                actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
                result_format=RESULT_FORMAT,
            )
        )
        run_name = f"{run_id or 'manual'}__batch_{batch_id}"
        outcome = gx_checkpoint.run(run_id=gx.RunIdentifier(run_name=run_name))

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
                 unexpected_count, unexpected_percent, observed_value, airflow_run_id)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            [
                (result.batch_id, suite, c.expectation, c.column, c.severity, c.success, c.element_count,
                 c.unexpected_count, c.unexpected_percent, c.observed_value, run_id)
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


def pending_batches(source: str, url: str | None = None) -> list[int]:
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
