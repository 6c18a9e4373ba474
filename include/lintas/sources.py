"""Every agency source of the warehouse, declared once: the extract DAGs, their gates, the raw assets and the
build's schedule are derived from `SOURCES`.

A source is one agency system reached through one channel, extracted by one DAG (`lintas_extract_<key>`) into
one or more raw tables. A raw table's name is what the audit trail, the gates, dbt and the report call a source:
`audit.load_batch.source`, the table `raw.<name>`, the GX checkpoint and suite `raw_<name>`
(expectations/checkpoints, expectations/suites), the asset `lintas://raw/<name>` and the dbt source
`raw_<agency>.<name>`.

Adding a source: its reader or pull (lintas.extract), an entry here, a thin DAG file in dags/ that calls
`lintas.extract_dags.extract_dag`, its raw table (include/lintas/sql), checkpoint and suite, dbt source and
staging, and a retention rule (lintas.privacy.retention); tests/unit/test_sources.py checks that they agree.

Cheap to import (no drivers, no Airflow): the DAG files and the build DAG read it at every parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Channel(StrEnum):
    FILE_OUTBOX = "file outbox"  # the agency drops files into its outbox folder; every run reads what is new
    API_PULL = "API pull"  # we pull changes from the agency's HTTP API (an Airflow HTTP connection)
    DATABASE_PULL = "database pull"  # we pull changes from the agency's database (a SQLAlchemy-style URI)


@dataclass(frozen=True)
class Label:
    """A name for people: `id` in Indonesian (the agencies' own words), `en` in English (ISO 639-1 codes)."""

    id: str
    en: str


@dataclass(frozen=True)
class RawTable:
    name: str
    label: Label

    @property
    def relation(self) -> str:
        return f"raw.{self.name}"

    @property
    def checkpoint(self) -> str:
        """The raw gate: GX checkpoint expectations/checkpoints/<checkpoint>.yml, which runs the suite of that name."""
        return f"raw_{self.name}"

    @property
    def asset_uri(self) -> str:
        """The Airflow asset a gate updates when it accepted a batch; the warehouse build listens to it."""
        return f"lintas://raw/{self.name}"


@dataclass(frozen=True)
class Source:
    key: str
    agency: str  # short agency name: outbox folder, dbt source raw_<agency>, DAG tag
    channel: Channel
    schedule: str  # cron, in the DAG's time zone (Asia/Jakarta)
    tables: tuple[RawTable, ...]
    description: str  # one line in Airflow's DAG list
    doc: str  # the DAG's documentation (Markdown)
    # FILE_OUTBOX: module whose read(path) parses one delivered file (one raw table per file source)
    reader: str | None = None
    # API_PULL, DATABASE_PULL: "module:function" called with the run's context and the connection's parts, returning
    # the extract report (one per raw table, by name, when the source has several); and the Airflow connection
    pull: str | None = None
    connection: str | None = None

    @property
    def dag_id(self) -> str:
        return f"lintas_extract_{self.key}"

    def __post_init__(self) -> None:
        if not self.tables:
            raise ValueError(f"source {self.key} has no raw table")
        if self.channel is Channel.FILE_OUTBOX and (self.reader is None or len(self.tables) != 1):
            raise ValueError(f"file source {self.key} needs a reader and exactly one raw table")
        if self.channel is not Channel.FILE_OUTBOX and (self.pull is None or self.connection is None):
            raise ValueError(f"pulled source {self.key} needs a pull function and a connection")


DINSOS_DTKS = Source(
    key="dinsos_dtks",
    agency="dinsos",
    channel=Channel.FILE_OUTBOX,
    schedule="0 6 1 * *",  # the agency delivers once a month; a late file is picked up next run or by hand
    tables=(RawTable("dinsos_dtks", Label(id="DTKS/DTSEN (Dinas Sosial)",
                                          en="Social Affairs: welfare register snapshot")),),
    reader="lintas.extract.dtks",
    description="DTKS/DTSEN monthly snapshot: outbox -> raw.dinsos_dtks -> GX gate",
    doc="Welfare (Dinas Sosial): DTKS monthly snapshots from the agency outbox into the raw layer, gated.",
)

DISDIK_DAPODIK = Source(
    key="disdik_dapodik",
    agency="disdik",
    channel=Channel.API_PULL,
    schedule="0 2 * * *",  # daily, after Dapodik's nightly sync from schools
    tables=(RawTable("disdik_peserta_didik", Label(id="Peserta didik Dapodik (Dinas Pendidikan)",
                                                   en="Education: Dapodik students")),),
    pull="lintas.pipeline:extract_dapodik",
    connection="lintas_dapodik",
    description="Dapodik peserta didik API: changes since the last watermark -> raw.disdik_peserta_didik -> gate",
    doc="""Education (Dinas Pendidikan): students from the Dapodik API, incrementally by updated_at, gated.

Connection `lintas_dapodik` (host = API base URL, password = bearer token), or LINTAS_DAPODIK_URL/_TOKEN.
A refused token fails the run at once; 429 and 5xx are retried inside the pull, then by the task. A pull whose
pages contradict their meta (records missing or served twice) is recorded as rejected and fails `pull_api` without
retry: nothing is stored, no gate runs, no asset event, and the next scheduled run pulls the same span again.
""",
)

DISKOPINDAG_UMKM = Source(
    key="diskopindag_umkm",
    agency="diskopindag",
    channel=Channel.FILE_OUTBOX,
    schedule="*/30 * * * *",  # poll the outbox; only a new workbook (by checksum) is loaded
    tables=(RawTable("diskopindag_umkm", Label(id="UMKM binaan (Diskopindag)",
                                               en="Cooperatives and SMEs: assisted-business workbooks")),),
    reader="lintas.extract.umkm",
    description="UMKM binaan XLSX workbooks: outbox -> raw.diskopindag_umkm -> GX gate, on file arrival",
    doc="""Cooperatives and SMEs (Diskopindag): UMKM binaan workbooks from the agency outbox into the raw layer, gated.

The agency drops workbooks whenever a training or loan round closes, so the outbox is polled often; a poll that
finds no new workbook skips the gate and leaves the asset alone.
""",
)

DPMPTSP_IZIN = Source(
    key="dpmptsp_izin",
    agency="dpmptsp",
    channel=Channel.DATABASE_PULL,
    schedule="15 * * * *",  # hourly: permits are issued through the working day
    tables=(RawTable("dpmptsp_izin_usaha", Label(id="Izin usaha (DPMPTSP)", en="Licensing: business permits")),
            RawTable("dpmptsp_izin_usaha_kbli", Label(id="KBLI izin usaha (DPMPTSP)",
                                                      en="Licensing: permit KBLI lines"))),
    pull="lintas.pipeline:extract_izin",
    connection="lintas_dpmptsp",
    description="OSS-RBA permits: izin_usaha + izin_usaha_kbli changes -> raw.dpmptsp_* -> GX gates",
    doc="""Licensing (DPMPTSP): business permits and their KBLI from the agency database, by updated_at, gated.

Connection `lintas_dpmptsp` (any SQLAlchemy-style URI, read-only account), or LINTAS_DPMPTSP_URL; the local
SQLite stand-in otherwise. Each table has its own watermark, gate and asset.
""",
)

SOURCES: tuple[Source, ...] = (DINSOS_DTKS, DISDIK_DAPODIK, DISKOPINDAG_UMKM, DPMPTSP_IZIN)


class UnknownSource(LookupError):
    """No source in the registry has a raw table of this name."""


def raw_tables() -> list[RawTable]:
    """Every raw table of every source, in registry order."""
    return [table for source in SOURCES for table in source.tables]


def find(table_name: str) -> tuple[Source, RawTable]:
    """The source that extracts the raw table `table_name`, and the table."""
    for source in SOURCES:
        for table in source.tables:
            if table.name == table_name:
                return source, table
    raise UnknownSource(f"no source has a raw table {table_name!r}; known: {[t.name for t in raw_tables()]}")


def raw_table(table_name: str) -> RawTable:
    return find(table_name)[1]


def label(table_name: str) -> Label:
    """How the report and other views for people name a raw source."""
    return raw_table(table_name).label
