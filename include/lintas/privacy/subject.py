"""Data-subject access (UU 27/2022): everything the warehouse holds about one NIK, layer by layer.

The NIK finds the source records that carry it (raw, quarantine, staging); identity resolution gives the person(s)
those records were linked to, and then every record of those persons, also the ones under another NIK (a typo,
an Excel-mangled cell) or without one; the marts, history and snapshots are found through the person ids, the
record keys and, for household-level tables that name no person, the person's family card numbers.

Relations are discovered from the catalogue, not listed by hand, so a new model with a `nik`, `person_id` or
`record_key` column is covered without touching this module. The report is the data subject's own data and is
meant for the operator's screen or a file handed to the person: nothing here logs it, and error messages never
contain the NIK or any row value.
"""

from __future__ import annotations

import getpass
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import psycopg
from psycopg import sql

from lintas import warehouse

# schema -> layer, in the order the report shows them
LAYERS = {"raw": "raw", "quarantine": "quarantine", "staging": "staging", "intermediate": "intermediate",
          "identity": "identity", "marts": "marts", "snapshots": "snapshots"}
SOURCE_RECORDS = ("intermediate", "int_identity__source_records")  # every source record with record_key and nik
# record key prefix -> the column that holds the source's own record id (raw and staging)
SOURCE_ID_COLUMNS = {"dinsos_dtks": "iddtks", "disdik_peserta_didik": "peserta_didik_id",
                     "diskopindag_umkm": "umkm_record_key"}
TEXT_TYPES = {"text", "character varying", "character"}


class SubjectRequestError(ValueError):
    """The request could not be served. Messages never contain the NIK or a row value."""


@dataclass
class Relation:
    schema: str
    name: str
    columns: list[tuple[str, str, str]]  # (name, data_type, udt_name)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class Found:
    layer: str
    relation: str
    matched_by: list[str]
    columns: list[str]
    rows: list[list]


@dataclass
class SubjectReport:
    nik_masked: str
    person_ids: list[int] = field(default_factory=list)
    record_keys: list[str] = field(default_factory=list)
    family_cards: list[str] = field(default_factory=list)
    found: list[Found] = field(default_factory=list)
    views_not_searched: list[str] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        return sum(len(f.rows) for f in self.found)

    def as_dict(self) -> dict:
        layers: dict[str, dict] = {}
        for f in self.found:
            layers.setdefault(f.layer, {})[f.relation] = {
                "row_count": len(f.rows), "matched_by": f.matched_by,
                "rows": [dict(zip(f.columns, row, strict=True)) for row in f.rows]}
        return {"nik": self.nik_masked, "person_ids": self.person_ids, "record_keys": self.record_keys,
                "family_cards": self.family_cards, "row_count": self.row_count, "layers": layers,
                "views_not_searched": self.views_not_searched}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False, default=_json_value)

    def render_text(self) -> str:
        out = [f"Data held by Lintas about NIK {self.nik_masked} (data-subject access request, UU 27/2022 PDP)",
               f"linked person id(s): {', '.join(map(str, self.person_ids)) or 'none'}; "
               f"source records: {len(self.record_keys)}; family card(s): {', '.join(self.family_cards) or 'none'}",
               f"{self.row_count} row(s) in {len(self.found)} relation(s)"]
        if self.views_not_searched:
            out.append(f"{len(self.views_not_searched)} view(s) not searched: they store nothing, their rows are "
                       "computed from the tables listed here (--include-views searches them too)")
        for layer in dict.fromkeys(f.layer for f in self.found):
            out.append(f"\n=== {layer} ===")
            for f in (f for f in self.found if f.layer == layer):
                out.append(f"\n{f.relation}: {len(f.rows)} row(s) (searched by {', '.join(f.matched_by)})")
                for i, row in enumerate(f.rows, start=1):
                    values = ", ".join(f"{c}={_text_value(v)}" for c, v in zip(f.columns, row, strict=True)
                                       if v is not None)
                    out.append(f"  [{i}] {values}")
        return "\n".join(out) + "\n"


def _json_value(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _text_value(value) -> str:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=_json_value)
    return _json_value(value) if not isinstance(value, str) else value


def validate_nik(nik: str) -> str:
    nik = (nik or "").strip()
    if not re.fullmatch(r"\d{16}", nik):
        raise SubjectRequestError("a NIK is exactly 16 digits")
    return nik


def mask(nik: str) -> str:
    """Region code and serial stay, birth date digits hidden: enough to tell two requests apart on screen."""
    return nik[:6] + "******" + nik[12:]


def _relations(conn, include_views: bool) -> tuple[list[Relation], list[str]]:
    """Relations to search, and the views left out. A view stores nothing: its rows are computed from tables
    (staging from raw, most of intermediate from staging and identity), and computing every view of a city-scale
    warehouse for one person took over ten minutes a view (bench_privacy), so views are searched on request."""
    rows = conn.execute(
        "select c.table_schema, c.table_name, c.column_name, c.data_type, c.udt_name, t.table_type"
        " from information_schema.columns c join information_schema.tables t"
        " on t.table_schema = c.table_schema and t.table_name = c.table_name"
        # a partition's rows are found through its partitioned table
        " join pg_class r on r.oid = format('%%I.%%I', t.table_schema, t.table_name)::regclass"
        " where c.table_schema = any(%s) and not r.relispartition"
        " order by c.table_schema, c.table_name, c.ordinal_position",
        (list(LAYERS),)).fetchall()
    relations: dict[tuple[str, str], Relation] = {}
    views: set[str] = set()
    for schema, name, column, data_type, udt, table_type in rows:
        if table_type == "VIEW" and not include_views:
            views.add(f"{schema}.{name}")
            continue
        relations.setdefault((schema, name), Relation(schema, name, [])).columns.append((column, data_type, udt))
    order = list(LAYERS)
    return sorted(relations.values(), key=lambda r: (order.index(r.schema), r.name)), sorted(views)


def _conditions(relation: Relation) -> tuple[list[sql.Composable], list[str]]:
    """WHERE conditions that find the subject's rows in a relation, what they match by, and whether a person-level
    key exists (household-level relations, with none, are matched by family card)."""
    conditions: list[sql.Composable] = []
    labels: list[str] = []
    person_level = False  # a key that names one person's row; else the relation is about households
    for name, data_type, udt in relation.columns:
        column = sql.Identifier(name)
        if data_type in TEXT_TYPES and (name == "nik" or name.startswith("nik_")):
            condition, per_person = sql.SQL("{} = %(nik)s").format(column), True
        elif name == "person_id":
            condition, per_person = sql.SQL("{} = any(%(person_ids)s::bigint[])").format(column), True
        elif name.endswith("_person_id"):  # e.g. the head of a family
            condition, per_person = sql.SQL("{} = any(%(person_ids)s::bigint[])").format(column), False
        elif udt == "_int8" and name.endswith("person_ids"):
            condition, per_person = sql.SQL("{} && %(person_ids)s::bigint[]").format(column), False
        elif data_type in TEXT_TYPES and re.fullmatch(r"record_key(_[lr])?", name):
            condition, per_person = sql.SQL("{} = any(%(record_keys)s::text[])").format(column), True
        elif udt == "_text" and name.endswith("record_keys"):  # e.g. a family's members
            condition, per_person = sql.SQL("{} && %(record_keys)s::text[]").format(column), False
        elif name in SOURCE_ID_COLUMNS.values():
            condition, per_person = sql.SQL("{}::text = any(%(source_ids)s::text[])").format(column), True
        elif name == "raw_record" and data_type in TEXT_TYPES:
            condition, per_person = sql.SQL("position(%(nik)s in {}) > 0").format(column), True
        else:
            continue
        conditions.append(condition)
        labels.append(name)
        person_level = person_level or per_person
    if relation.qualified == "raw.diskopindag_umkm":
        # a workbook row's record key is workbook!sheet!row of the latest accepted delivery of that workbook
        conditions.append(sql.SQL(
            "exists (select 1 from audit.load_batch b where b.batch_id = _batch_id and b.batch_id = ("
            "select max(l.batch_id) from audit.load_batch l where l.source = b.source"
            " and l.source_ref = b.source_ref and l.status = 'accepted')"
            " and b.source_ref || '!' || _sheet || '!' || _row_number = any(%(source_ids)s::text[]))"))
        labels.append("workbook row")
    if not person_level and any(name == "no_kk" for name, _, _ in relation.columns):
        conditions.append(sql.SQL("no_kk = any(%(family_cards)s::text[])"))
        labels.append("no_kk (household)")
    return conditions, labels


def _exists(conn, schema: str, name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (f"{schema}.{name}",)).fetchone()[0]


def _identify(conn, nik: str) -> tuple[list[int], list[str], list[str]]:
    """Person ids of the NIK's records, all record keys of those persons, and their family card numbers."""
    keys: set[str] = set()
    if _exists(conn, *SOURCE_RECORDS):
        keys |= {r[0] for r in conn.execute(sql.SQL("select record_key from {} where nik = %s").format(
            sql.Identifier(*SOURCE_RECORDS)), (nik,))}
    persons: set[int] = set()
    if _exists(conn, "identity", "person_record"):
        persons |= {r[0] for r in conn.execute(
            "select person_id from identity.person_record where record_key = any(%s)", (list(keys),))}
    if _exists(conn, "marts", "dim_person"):
        persons |= {r[0] for r in conn.execute("select person_id from marts.dim_person where nik = %s", (nik,))}
    if persons and _exists(conn, "identity", "person_record"):
        keys |= {r[0] for r in conn.execute(
            "select record_key from identity.person_record where person_id = any(%s)", (sorted(persons),))}
    cards: set[str] = set()
    if keys and _exists(conn, *SOURCE_RECORDS):
        cards = {r[0] for r in conn.execute(sql.SQL(
            "select distinct no_kk from {} where record_key = any(%s) and no_kk is not null").format(
            sql.Identifier(*SOURCE_RECORDS)), (sorted(keys),))}
    return sorted(persons), sorted(keys), sorted(cards)


def find(nik: str, url: str, include_views: bool = False) -> SubjectReport:
    """Everything stored about the NIK (and with include_views, every view's rows too). Raises
    SubjectRequestError (without the NIK) if it cannot be served."""
    nik = validate_nik(nik)
    report = SubjectReport(nik_masked=mask(nik))
    try:
        with warehouse.connect(url) as conn, conn.transaction():
            conn.execute("set transaction isolation level repeatable read, read only")  # one consistent view
            report.person_ids, report.record_keys, report.family_cards = _identify(conn, nik)
            params = {"nik": nik, "person_ids": report.person_ids, "record_keys": report.record_keys,
                      "family_cards": report.family_cards,
                      "source_ids": sorted({k.split(":", 1)[1] for k in report.record_keys
                                            if k.split(":", 1)[0] in SOURCE_ID_COLUMNS})}
            relations, report.views_not_searched = _relations(conn, include_views)
            for relation in relations:
                report.found += _search(conn, relation, params)
    except psycopg.Error as exc:
        # driver messages can quote parameter values: name the error class only
        raise SubjectRequestError(f"the warehouse could not be read ({type(exc).__name__})") from None
    return report


def _search(conn, relation: Relation, params: dict) -> list[Found]:
    conditions, labels = _conditions(relation)
    if not conditions:
        return []
    query = sql.SQL("select * from {} where {}").format(
        sql.Identifier(relation.schema, relation.name), sql.SQL(" or ").join(conditions))
    try:
        with conn.transaction():  # a savepoint: one unreadable relation does not end the request
            cursor = conn.execute(query, params)
            rows = [list(r) for r in cursor.fetchall()]
            columns = [d.name for d in cursor.description]
    except psycopg.Error as exc:
        raise SubjectRequestError(f"{relation.qualified} could not be searched ({type(exc).__name__})") from None
    if not rows:
        return []
    return [Found(LAYERS[relation.schema], relation.qualified, labels, columns, rows)]


def record_request(report: SubjectReport, url: str) -> None:
    """Accountability: that a request was served, by whom and how much was found; never who it was about."""
    with warehouse.connect(url) as conn:
        conn.execute(
            "insert into audit.subject_request (operator, persons, relations, row_count) values (%s, %s, %s, %s)",
            (getpass.getuser(), len(report.person_ids), len(report.found), report.row_count))
