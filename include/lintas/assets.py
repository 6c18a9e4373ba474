"""Airflow Assets: one per raw table of the source registry, updated by a successful, gated load (the warehouse
build listens); one per published mart table."""

from airflow.sdk import Asset

from lintas import sources


def raw(table: sources.RawTable) -> Asset:
    return Asset(table.asset_uri, group="raw")


def raw_assets() -> list[Asset]:
    """Every raw table's asset, in registry order: what the warehouse build is scheduled on."""
    return [raw(table) for table in sources.raw_tables()]


def _mart_tables() -> list[str]:
    """Every mart has exactly one reviewed suite (expectations/suites/marts_<table>.json): the list of what
    `publish` can publish, known without a database or dbt when the DAG file is parsed."""
    from lintas import settings

    return sorted(p.stem.removeprefix("marts_") for p in (settings.expectations_dir() / "suites").glob("marts_*.json"))


# One asset per published mart table, updated by `publish` with the table's row count: consumers (exports,
# dashboards) can be scheduled on the data they read.
MARTS = {table: Asset(f"lintas://warehouse/marts/{table}", group="marts") for table in _mart_tables()}


def mart_events(outlet_events, published: dict[str, int], run_id: str | None) -> None:
    """Row counts of the published marts as the extra of each mart's asset event."""
    for table, rows in published.items():
        if table in MARTS:
            outlet_events[MARTS[table]].extra = {"rows": rows, "airflow_run_id": run_id}
