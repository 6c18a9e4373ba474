"""The clerical review queue: the pairs the latest linkage run was unsure about and no reviewer has settled, the
evidence for one pair (both records side by side, which compared fields agree), and a reviewer's decision
(identity.review_decision; the next linkage run honours it: lintas.identity.constraints).

NIK and No. KK are masked in the evidence. A reviewer may reveal them for one pair if the warehouse login of the same
name (`lintas access grant-login`) may read identities: a member of lintas_engineer or lintas_analyst, as for
`lintas explain-person --reveal`, and never kecamatan staff (a member of lintas_kecamatan, whatever else it holds).
Every reveal is written to audit.access_log (who, when, which pair; never the values)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from psycopg import sql

from lintas import access, warehouse
from lintas.identity import constraints, features
from lintas.privacy.subject import mask

log = logging.getLogger(__name__)

NEVER_REVEALING = ("kecamatan",)  # never, even when also granted a revealing role
REVEAL_READS = "intermediate.int_identity__source_records"  # what a reveal reads, as audit.access_log names it


class ReviewError(ValueError):
    """A decision the queue refuses (unknown pair or decision, no reason). Names no personal data."""


class RevealRefused(ReviewError):
    """The reviewer may not see NIK and No. KK."""


@dataclass(frozen=True)
class PendingPair:
    record_key_l: str
    record_key_r: str
    match_probability: float
    last_decision: str | None  # 'unsure' when a reviewer looked and left it open


# The fields the rules and the model compare (lintas.identity.features), as a reviewer reads them.
COMPARED = [("nik", "NIK"), ("name", "Name"), ("dob", "Birth date"), ("sex", "Sex"), ("mother", "Mother's name"),
            ("kelurahan", "Kelurahan"), ("street", "Street"), ("house_number", "House number")]
SHOWN = [("record_source", "Source"), ("nik", "NIK"), ("nama", "Name"), ("jenis_kelamin", "Sex"),
         ("tanggal_lahir", "Birth date"), ("nama_ibu_kandung", "Mother's name"), ("alamat", "Address"),
         ("kelurahan", "Kelurahan"), ("kecamatan", "Kecamatan"), ("no_kk", "No. KK")]
MASKED = {"nik", "no_kk"}

_LATEST_DECISION = """
    select distinct on (record_key_l, record_key_r) record_key_l, record_key_r, decision
    from identity.review_decision order by record_key_l, record_key_r, decided_at desc, review_decision_id desc"""


def pending(url: str, limit: int = 200) -> list[PendingPair]:
    """The latest run's review pairs without a match or non-match decision in force, most probable first."""
    with warehouse.connect(url) as conn:
        rows = conn.execute(
            sql.SQL("with latest as ({})"
                " select least(p.record_key_l, p.record_key_r), greatest(p.record_key_l, p.record_key_r),"
                " p.match_probability, latest.decision"
                " from identity.review_pair as p"
                " left join latest on (latest.record_key_l, latest.record_key_r)"
                " = (least(p.record_key_l, p.record_key_r), greatest(p.record_key_l, p.record_key_r))"
                " where p.link_run_id = (select max(link_run_id) from identity.link_run where finished_at is not null)"
                " and coalesce(latest.decision, 'unsure') = 'unsure'"
                " order by p.match_probability desc, 1, 2 limit %s").format(sql.SQL(_LATEST_DECISION)),
            (limit,)).fetchall()
    return [PendingPair(left, right, float(p), decision) for left, right, p, decision in rows]


@dataclass(frozen=True)
class Evidence:
    record_key_l: str
    record_key_r: str
    match_probability: float | None  # the latest run's, None if the pair is no longer in review
    records: list[dict[str, str]]  # left, right: SHOWN field -> value as shown (NIK and No. KK masked)
    persons: list[tuple[int | None, str | None]]  # left, right: person id and match method now
    comparison: list[tuple[str, str]]  # COMPARED label -> 'agree', 'disagree' or 'missing'
    decisions: list[tuple[str, str, str, str]]  # the pair's history: decision, reviewer, when, reason
    revealed: bool = False  # NIK and No. KK shown in full


def _shown(value) -> str:
    return "" if value is None else str(value)


def may_reveal(reviewer: str, url: str) -> bool:
    """Whether this reviewer may see a pair's NIK and No. KK: their warehouse login (same name) is a member of a
    access.REVEALING_ROLES role and of no NEVER_REVEALING one. A reviewer without a warehouse login never may."""
    def members_of(kinds):
        return [access.ROLES[k] for k in kinds]

    with warehouse.connect(url) as conn:
        row = conn.execute(
            "select exists (select 1 from pg_roles g where g.rolname = any(%(yes)s)"
            "               and pg_has_role(r.oid, g.oid, 'member')),"
            " exists (select 1 from pg_roles g where g.rolname = any(%(no)s) and pg_has_role(r.oid, g.oid, 'member'))"
            " from pg_roles r where r.rolname = %(login)s",
            {"yes": members_of(access.REVEALING_ROLES), "no": members_of(NEVER_REVEALING),
             "login": reviewer}).fetchone()
    return bool(row and row[0] and not row[1])


def reveal(record_key_l: str, record_key_r: str, reviewer: str, url: str) -> Evidence:
    """The pair's evidence with NIK and No. KK in full, for a reviewer who may see them (`may_reveal`; else
    RevealRefused). The reveal is logged in audit.access_log before anything is read: reviewer, time, the pair's
    record keys; never a value."""
    if not may_reveal(reviewer, url):
        raise RevealRefused("this reviewer may not see NIK and No. KK (needs a warehouse login in lintas_engineer"
                            " or lintas_analyst; kecamatan staff never)")
    left, right = sorted((record_key_l, record_key_r))
    with warehouse.connect(url) as conn:
        conn.execute("insert into audit.access_log (login, relation, via) values (%s, %s, %s)",
                     (reviewer, REVEAL_READS, f"review page reveal: {left} / {right}"))
    log.info("review page: %s revealed the NIK and No. KK of pair %s / %s", reviewer, left, right)
    return evidence(left, right, url, reveal=True)


def evidence(record_key_l: str, record_key_r: str, url: str, *, reveal: bool = False) -> Evidence:
    """The pair side by side; NIK and No. KK masked unless `reveal` (only through `reveal()`, which checks and
    logs)."""
    left, right = sorted((record_key_l, record_key_r))
    raw = features.read_source_records(url, [left, right])
    if len(raw) != 2:
        raise ReviewError("the pair's records are not in the warehouse")
    prepared = features.prepare(raw).set_index("unique_id")
    raw = raw.set_index("record_key")
    records = [{label: mask(_shown(raw.at[key, column])) if column in MASKED and raw.at[key, column] and not reveal
                else _shown(raw.at[key, column]) for column, label in SHOWN} for key in (left, right)]
    comparison = []
    for column, label in COMPARED:
        a, b = prepared.at[left, column], prepared.at[right, column]
        comparison.append((label, "missing" if not a or not b else "agree" if a == b else "disagree"))
    with warehouse.connect(url) as conn:
        person = dict((k, (pid, method)) for k, pid, method in conn.execute(
            "select record_key, person_id, match_method from identity.person_record where record_key = any(%s)",
            ([left, right],)))
        probability = conn.execute(
            "select match_probability from identity.review_pair where (least(record_key_l, record_key_r),"
            " greatest(record_key_l, record_key_r)) = (%s, %s) order by link_run_id desc limit 1",
            (left, right)).fetchone()
        history = conn.execute(
            "select decision, reviewer, to_char(decided_at, 'YYYY-MM-DD HH24:MI'), reason"
            " from identity.review_decision where (record_key_l, record_key_r) = (%s, %s)"
            " order by decided_at desc, review_decision_id desc", (left, right)).fetchall()
    return Evidence(left, right, float(probability[0]) if probability else None, records,
                    [person.get(left, (None, None)), person.get(right, (None, None))], comparison,
                    [tuple(row) for row in history], reveal)


def decide(record_key_l: str, record_key_r: str, decision: str, reviewer: str, reason: str,
           url: str) -> int:
    """Record a reviewer's decision on a pair the model put in review. Returns the decision's id."""
    if decision not in constraints.DECISIONS:
        raise ReviewError(f"decision must be one of {', '.join(constraints.DECISIONS)}")
    if not reason or not reason.strip():
        raise ReviewError("a decision needs a reason")
    if not reviewer:
        raise ReviewError("a decision needs a reviewer")
    left, right = sorted((record_key_l, record_key_r))
    with warehouse.connect(url) as conn:
        seen = conn.execute(
            "select link_run_id, match_probability from identity.review_pair"
            " where (least(record_key_l, record_key_r), greatest(record_key_l, record_key_r)) = (%s, %s)"
            " order by link_run_id desc limit 1", (left, right)).fetchone()
        if seen is None:
            raise ReviewError("no linkage run put this pair in review")
        return conn.execute(
            "insert into identity.review_decision (record_key_l, record_key_r, decision, reviewer, reason,"
            " match_probability, link_run_id) values (%s, %s, %s, %s, %s, %s, %s) returning review_decision_id",
            (left, right, decision, reviewer, reason.strip(), seen[1], seen[0])).fetchone()[0]
