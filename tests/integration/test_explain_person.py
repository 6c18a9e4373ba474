"""Explaining a person after real linkage runs: their records, how each joined (a rule and the model), the merge
in their history, with NIKs masked unless an identity-reading login reveals them; and the auditors' view."""

from __future__ import annotations

import json
import uuid
from datetime import date
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import errors

from lintas import access, cli, pipeline, warehouse
from lintas.identity import explain
from lintas.load.raw import RunContext
from tests.fixtures.dtks_files import member, write
from tests.fixtures.umkm_workbooks import owner, write_workbook

PEOPLE = [  # name, sex, birth date, NIK (Lowokwaru 35.73.05)
    ("MUHAMMAD RIZKI SANTOSO", "L", date(1985, 8, 17), "3573051708850003"),
    ("SITI AMINAH", "P", date(1990, 3, 2), "3573054203900011"),
    ("BAMBANG HARTONO", "L", date(1972, 12, 9), "3573050912720004"),
]
SITI = "dinsos_dtks:ID000001"
ADDRESS = "JL. SUKARNO HATTA NO. 7"
# what must never be printed without --reveal: every NIK as delivered or as Excel turned it, names, birth dates
SECRETS = [nik for *_, nik in PEOPLE] + ["3573054203900010", "357305420390001", "AMINAH", "Aminah", "1990-03-02",
                                          "02-03-1990"]


def _link(run: str) -> None:
    ctx = RunContext("lintas_build_warehouse", run)
    pipeline.build_linkage_input(ctx)
    pipeline.link_identities(ctx)


def _deliver_and_link(outbox, outbox_for) -> None:
    """Run 1: Siti Aminah's two businesses alone are two persons. Run 2: the welfare register joins them (her
    number-cell NIK by the near-NIK rule, the business without NIK by the model): a merge."""
    ctx = RunContext("lintas_build_warehouse", "load")
    name, sex, born, nik = PEOPLE[1]
    owners = [
        # her NIK typed as an Excel number (16th digit lost), no birth date
        owner(0, **{"NAMA PEMILIK": "Hj. Siti Aminah", "NIK": nik, "JENIS KELAMIN": sex, "TANGGAL LAHIR": None,
                    "KELURAHAN": "Tlogo Mas", "ALAMAT": ADDRESS}),
        # her second business, registered without NIK
        owner(1, **{"NAMA PEMILIK": name, "NIK": None, "JENIS KELAMIN": sex, "TANGGAL LAHIR": born,
                    "KELURAHAN": "TLOGOMAS", "ALAMAT": ADDRESS}),
    ]
    write_workbook(outbox_for("diskopindag") / "UMKM_BINAAN_2026.xlsx", {"LOWOKWARU": owners},
                   nik_as_number_rows=(0,))
    pipeline.gate_source("diskopindag_umkm", pipeline.extract_files("diskopindag_umkm", ctx), ctx)
    _link("run-1")
    write(outbox, "DTKS_3573_202610.csv", [
        member(i, NAMA=name, JENIS_KELAMIN=sex, TANGGAL_LAHIR=born.strftime("%d-%m-%Y"), NIK=nik,
               NAMA_IBU_KANDUNG=f"IBU {name.split()[0]}", KELURAHAN="TLOGOMAS", ALAMAT=ADDRESS)
        for i, (name, sex, born, nik) in enumerate(PEOPLE)])
    pipeline.gate_source("dinsos_dtks", pipeline.extract_files("dinsos_dtks", ctx), ctx)
    _link("run-2")


def _person_of(url: str, record_key: str) -> int:
    with warehouse.connect(url) as conn:
        return conn.execute("select person_id from identity.person_record where record_key = %s",
                            (record_key,)).fetchone()[0]


def test_a_person_joined_by_a_rule_and_the_model_is_explained_masked_with_its_merge(
        warehouse_url, outbox, outbox_for, capsys):
    _deliver_and_link(outbox, outbox_for)
    person_id = _person_of(warehouse_url, SITI)

    explained = explain.explain(person_id, warehouse_url)
    assert len(explained.records) == 3 and not explained.revealed
    methods = {r.record_key.split(":")[0] + "/" + r.match_method for r in explained.records}
    assert {"dinsos_dtks/nik+probabilistic", "diskopindag_umkm/nik", "diskopindag_umkm/probabilistic"} <= methods
    by_rule = {link.rule: link for link in explained.links}
    assert {"near_nik", "model"} <= set(by_rule)
    assert by_rule["model"].match_probability >= 0.999 and by_rule["near_nik"].match_probability is None
    # the evidence: the near NIK is one digit off with the name as witness; the model pair has no NIK to compare
    assert by_rule["near_nik"].fields["nik"] == "similar" and by_rule["near_nik"].fields["name"] == "agree"
    assert by_rule["model"].fields["nik"] == "missing"
    assert {"name", "dob", "sex"} <= set(by_rule["model"].agreeing()) and by_rule["model"].differing() == []
    # run 1 had her businesses as two persons: run 2's merge is in her history
    assert [(e["event"], e["person_id"]) for e in explained.events] == [("merge", person_id)]
    assert len(explained.events[0]["other_person_ids"]) == 1

    for output in ("text", "json"):
        cli.main(["explain-person", str(person_id), "--format", output], commands=[])
        printed = capsys.readouterr().out
        assert "357305******0011" in printed and "model" in printed and "near_nik" in printed
        assert [s for s in SECRETS if s in printed] == []
    assert json.loads(explained.to_json())["links"][0]["differing"] == []


def test_reveal_needs_an_identity_reading_login_and_auditors_read_links_without_identities(
        warehouse_url, outbox, outbox_for):
    _deliver_and_link(outbox, outbox_for)
    person_id = _person_of(warehouse_url, SITI)
    # the superuser the tests connect as may reveal; the read is logged like an identified view's
    revealed = explain.explain(person_id, warehouse_url, reveal=True).render_text()
    assert PEOPLE[1][3] in revealed and "SITI AMINAH" in revealed and "1990-03-02" in revealed
    with warehouse.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from audit.access_log where relation = %s",
                            (explain.READ_LOGGED_AS,)).fetchone()[0] == 1

    login = f"t_{uuid.uuid4().hex[:8]}_aud"
    access.grant_login(login, "auditor", url=warehouse_url)
    parts = urlsplit(warehouse_url)
    as_auditor = urlunsplit(parts._replace(netloc=f"{login}@{parts.netloc.rsplit('@', 1)[-1]}"))
    try:
        with pytest.raises(explain.ExplainError, match="may not reveal"):
            explain.explain(person_id, as_auditor, reveal=True)
        with psycopg.connect(as_auditor) as conn:
            cur = conn.execute("select * from audit.person_link where person_id = %s order by record_key",
                               (person_id,))
            columns, rows = [c.name for c in cur.description], cur.fetchall()
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("select * from identity.person_record")
    finally:
        access.revoke_login(login, warehouse_url, drop=True)
    assert not {"nik", "nama", "tanggal_lahir", "nama_ibu_kandung", "alamat"} & set(columns)
    link = [dict(zip(columns, row, strict=True)) for row in rows]
    assert [r["record_key"] for r in link][0] == SITI and len(link) == 3
    assert set(link[0]["rules"]) >= {"near_nik", "model"} and len(link[0]["linked_to"]) == 2
    assert [e["event"] for e in link[0]["person_events"]] == ["merge"]
    assert [s for s in SECRETS if s in repr(rows)] == []
