"""Explain a person: their records, how each joined (match method, rule, probability, the fields that agree and
differ) and the merges and splits in their history, from what the latest linkage run wrote (identity.person_record,
identity.link_pair, identity.person_event) and the records' own features.

NIKs are masked, names and birth dates left out, unless the caller asks to reveal them and the login may read
identities (a superuser or a member of lintas_engineer / lintas_analyst); a revealed read is logged in
audit.access_log like any identified read. Auditors without identities read the view audit.person_link instead.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import pandas as pd
from psycopg import sql

from lintas import access, warehouse
from lintas.identity import features, names
from lintas.privacy.subject import mask

FIELDS = ["nik", "name", "dob", "sex", "mother", "kelurahan", "street"]  # the compared features, model's order
# the fields each rule decides on (lintas.identity.rules); the model weighs all of them
DECISIVE = {
    "nik_group": ("nik", "dob", "sex"),
    "near_nik": ("nik", "name"),
    "same_nik": ("nik", "name"),
    "name_birth_mother": ("name", "dob", "mother"),
    "similar_name_birth": ("name", "dob"),
    "same_nib": ("name",),  # and the business id (NIB) both records name
    "home_business": ("name", "kelurahan", "street"),
    "model": tuple(FIELDS),
    "review": tuple(FIELDS),  # a reviewer saw both records side by side (identity.review_decision has why)
}
READ_LOGGED_AS = "identity.explain-person"


class ExplainError(RuntimeError):
    """The person cannot be explained (unknown id) or the login may not reveal identities. No personal data."""


@dataclass
class RecordLine:
    record_key: str
    source: str
    nik: str  # masked unless revealed
    match_method: str
    match_probability: float | None
    name: str | None = None  # only when revealed
    birth_date: str | None = None  # only when revealed


@dataclass
class LinkLine:
    record_key_l: str
    record_key_r: str
    rule: str
    match_probability: float | None
    decisive: list[str]
    fields: dict[str, str]  # field -> agree | similar | differ | missing

    def agreeing(self) -> list[str]:
        return [f for f in self.decisive if self.fields[f] in ("agree", "similar")]

    def differing(self) -> list[str]:
        return [f for f in self.decisive if self.fields[f] == "differ"]


@dataclass
class PersonExplanation:
    person_id: int
    revealed: bool
    records: list[RecordLine]
    links: list[LinkLine]
    events: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        out = asdict(self)
        for link, line in zip(out["links"], self.links, strict=True):
            link["agreeing"], link["differing"] = line.agreeing(), line.differing()
        return out

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, default=str) + "\n"

    def render_text(self) -> str:
        out = [f"Person {self.person_id}: {len(self.records)} record(s)"
               + ("" if self.revealed else " (NIK masked; names and birth dates not shown)")]
        for r in self.records:
            shown = f"  {r.record_key:<50} {r.source:<22} NIK {r.nik:<16} {r.match_method:<18}"
            shown += f" p={r.match_probability:.4f}" if r.match_probability is not None else ""
            if self.revealed:
                shown += f"  {r.name or '-'}  born {r.birth_date or '-'}"
            out.append(shown)
        out.append(f"How the records joined ({len(self.links)} link(s)):")
        for link in self.links:
            probability = f" p={link.match_probability:.4f}" if link.match_probability is not None else ""
            out.append(f"  {link.record_key_l} - {link.record_key_r}: {link.rule}{probability}")
            out.append(f"      agree: {', '.join(link.agreeing()) or '-'}; differ: {', '.join(link.differing()) or '-'}"
                       f"; all fields: {' '.join(f'{k}={v}' for k, v in link.fields.items())}")
        out.append(f"History ({len(self.events)} merge/split event(s)):")
        for e in self.events:
            out.append(f"  run {e['link_run_id']} {e['recorded_at']:%Y-%m-%d %H:%M}: {e['event']} person"
                       f" {e['person_id']} with {', '.join(map(str, e['other_person_ids']))}")
        return "\n".join(out) + "\n"


def mask_nik(value: str | None) -> str:
    """A NIK as output may show it: region code and serial of a 16-digit number, nothing of anything else."""
    if not value:
        return "-"
    digits = "".join(ch for ch in value if ch.isdigit())
    return mask(digits) if len(digits) == 16 else "*" * len(digits)


def compare_fields(left: dict, right: dict) -> dict[str, str]:
    """Per compared feature of two prepared records: agree, similar (a NIK one or two edits away, names a clerk
    could write for one person, a birth date one typo away), differ, or missing (absent on either side)."""
    out = {}
    for name in FIELDS:
        a, b = left.get(name), right.get(name)
        if a is None or b is None or (isinstance(a, float) and pd.isna(a)) or (isinstance(b, float) and pd.isna(b)):
            out[name] = "missing"
        elif a == b:
            out[name] = "agree"
        elif name in ("name", "mother") and names.same_person_spelling(a, b):
            out[name] = "similar"
        elif name in ("nik", "dob") and names.osa_distance(a, b, 2) <= (2 if name == "nik" else 1):
            out[name] = "similar"
        else:
            out[name] = "differ"
    return out


def may_reveal(conn) -> bool:
    """Whether this login may see identities: a superuser or a member of an identity-reading role."""
    roles = [access.ROLES[r] for r in access.REVEALING_ROLES]
    return bool(conn.execute(
        "select rolsuper or exists (select 1 from pg_roles g where g.rolname = any(%s)"
        " and pg_has_role(session_user, g.oid, 'member')) from pg_roles where rolname = session_user",
        (roles,)).fetchone()[0])


def explain(person_id: int, url: str, *, reveal: bool = False) -> PersonExplanation:
    with warehouse.connect(url) as conn:
        if reveal:
            if not may_reveal(conn):
                raise ExplainError("this login may not reveal identities (needs lintas_engineer or lintas_analyst)")
            conn.execute("select access.log_read(%s)", (READ_LOGGED_AS,))
        linked = conn.execute(
            "select record_key, source, match_method, match_probability::float from identity.person_record"
            " where person_id = %s order by record_key", (person_id,)).fetchall()
        events = [dict(zip(("link_run_id", "event", "person_id", "other_person_ids", "recorded_at"), row,
                           strict=True)) for row in conn.execute(
            "select link_run_id, event, person_id, other_person_ids, recorded_at from identity.person_event"
            " where person_id = %s or %s = any(other_person_ids) order by person_event_id",
            (person_id, person_id))]
        if not linked and not events:
            raise ExplainError(f"no person {person_id} in the latest linkage or its history")
        keys = [row[0] for row in linked]
        pairs = conn.execute(
            "select record_key_l, record_key_r, rule, match_probability::float from identity.link_pair"
            " where record_key_l = any(%s) order by record_key_l, record_key_r, rule", (keys,)).fetchall()
        source = pd.DataFrame(conn.execute(
            sql.SQL("select {} from intermediate.int_identity__source_records where record_key = any(%s)").format(
                sql.SQL(", ").join(map(sql.Identifier, features.SOURCE_COLUMNS))), (keys,)).fetchall(),
            columns=features.SOURCE_COLUMNS, dtype=object)
    prepared = {row["unique_id"]: row for row in features.prepare(source).to_dict("records")} if len(source) else {}
    raw = {row["record_key"]: row for row in source.to_dict("records")}
    records = []
    for key, source_name, method, probability in linked:
        row = raw.get(key, {})
        born = row.get("tanggal_lahir")
        records.append(RecordLine(
            key, source_name, (row.get("nik") or "-") if reveal else mask_nik(row.get("nik")), method, probability,
            name=row.get("nama") if reveal else None,
            birth_date=(born.isoformat() if born else None) if reveal else None))
    links = [LinkLine(left, right, rule, probability, list(DECISIVE[rule]),
                      compare_fields(prepared.get(left, {}), prepared.get(right, {})))
             for left, right, rule, probability in pairs]
    return PersonExplanation(person_id, reveal, records, links, events)
