"""Airflow Assets: one per raw source, updated by a successful, gated load; the warehouse build listens."""

from airflow.sdk import Asset

RAW_DINSOS_DTKS = Asset("lintas://raw/dinsos_dtks", group="raw")
RAW_DISDIK_PESERTA_DIDIK = Asset("lintas://raw/disdik_peserta_didik", group="raw")
RAW_DISKOPINDAG_UMKM = Asset("lintas://raw/diskopindag_umkm", group="raw")
RAW_DPMPTSP_IZIN_USAHA = Asset("lintas://raw/dpmptsp_izin_usaha", group="raw")
RAW_DPMPTSP_IZIN_USAHA_KBLI = Asset("lintas://raw/dpmptsp_izin_usaha_kbli", group="raw")

RAW_SOURCES = [RAW_DINSOS_DTKS, RAW_DISDIK_PESERTA_DIDIK, RAW_DISKOPINDAG_UMKM, RAW_DPMPTSP_IZIN_USAHA,
               RAW_DPMPTSP_IZIN_USAHA_KBLI]
RAW_SOURCE_NAMES = [a.uri.rsplit("/", 1)[-1] for a in RAW_SOURCES]  # the sources' audit names


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
