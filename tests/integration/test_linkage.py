"""Identity resolution against a real warehouse: hand-made deliveries from two agencies, linked, and stable."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from lintas import pipeline, warehouse
from lintas.load.raw import RunContext
from tests.fixtures.dtks_files import member, write
from tests.fixtures.umkm_workbooks import owner, write_workbook

CTX = RunContext("lintas_build_warehouse", "run-1")
PEOPLE = [  # name, sex, birth date, NIK (Lowokwaru 35.73.05)
    ("MUHAMMAD RIZKI SANTOSO", "L", date(1985, 8, 17), "3573051708850003"),
    ("SITI AMINAH", "P", date(1990, 3, 2), "3573054203900011"),
    ("BAMBANG HARTONO", "L", date(1972, 12, 9), "3573050912720004"),
    ("DEWI LESTARI", "P", date(2001, 2, 3), "3573054302010007"),
]


def _deliver(outbox, outbox_for) -> None:
    dtks_rows = [member(i, NAMA=name, JENIS_KELAMIN=sex, TANGGAL_LAHIR=born.strftime("%d-%m-%Y"), NIK=nik,
                        NAMA_IBU_KANDUNG=f"IBU {name.split()[0]}", KELURAHAN="TLOGOMAS")
                 for i, (name, sex, born, nik) in enumerate(PEOPLE)]
    write(outbox, "DTKS_3573_202610.csv", dtks_rows)
    owners = [
        # the same man, his name written with the old abbreviation; same NIK: linked by NIK
        owner(0, **{"NAMA PEMILIK": "MOCH. RIZKI SANTOSO", "NIK": PEOPLE[0][3], "JENIS KELAMIN": "L",
                    "TANGGAL LAHIR": PEOPLE[0][2], "KELURAHAN": "TLOGOMAS"}),
        # the same woman, NIK typed as an Excel number (16th digit lost): linked by name + near NIK + place
        owner(1, **{"NAMA PEMILIK": "Hj. Siti Aminah", "NIK": PEOPLE[1][3], "JENIS KELAMIN": "P",
                    "TANGGAL LAHIR": None, "KELURAHAN": "Tlogo Mas"}),
        # someone not in DTKS
        owner(2, **{"NAMA PEMILIK": "YUSUF FIRMANSYAH", "NIK": "3573040101800005", "JENIS KELAMIN": "L",
                    "TANGGAL LAHIR": date(1980, 1, 1), "KELURAHAN": "SUKUN", "KECAMATAN": "SUKUN"}),
    ]
    write_workbook(outbox_for("diskopindag") / "UMKM_BINAAN_2026.xlsx", {"LOWOKWARU": owners},
                   nik_as_number_rows=(1,))
    for source in ("dinsos_dtks", "diskopindag_umkm"):
        pipeline.gate_source(source, pipeline.extract_files(source, CTX), CTX)


def _person_of(url) -> dict[str, int]:
    with warehouse.connect(url) as conn:
        return dict(conn.execute("select record_key, person_id from identity.person_record"))


def test_records_of_one_person_across_agencies_share_a_stable_person_id(warehouse_url, outbox, outbox_for):
    _deliver(outbox, outbox_for)
    pipeline.build_linkage_input(CTX)
    summary = pipeline.link_identities(CTX)
    assert (summary["records"], summary["persons"]) == (7, 5)
    person_of = _person_of(warehouse_url)
    umkm = sorted(k for k in person_of if k.startswith("diskopindag_umkm:"))
    assert person_of["dinsos_dtks:ID000000"] == person_of[umkm[0]]
    assert person_of["dinsos_dtks:ID000001"] == person_of[umkm[1]]
    assert len({person_of[f"dinsos_dtks:ID00000{i}"] for i in range(4)} | {person_of[umkm[2]]}) == 5

    # a re-run with nothing new keeps every id and records no merge or split
    again = pipeline.link_identities(RunContext(CTX.dag_id, "run-2"))
    assert again["merges"] == again["splits"] == 0
    assert _person_of(warehouse_url) == person_of
    with warehouse.connect(warehouse_url) as conn:
        methods = dict(conn.execute("select record_key, match_method from identity.person_record"))
        runs = conn.execute("select count(*), min(records), max(persons) from identity.link_run").fetchone()
    assert methods["dinsos_dtks:ID000000"].startswith("nik") and methods["dinsos_dtks:ID000003"] == "single"
    assert runs == (2, 7, 5)


def test_linkage_leaves_planner_statistics_and_the_rule_method_is_accepted(warehouse_url, outbox, outbox_for):
    _deliver(outbox, outbox_for)
    pipeline.build_linkage_input(CTX)
    pipeline.link_identities(CTX)
    with warehouse.connect(warehouse_url) as conn:
        # analysed right after the write, not whenever autovacuum comes round: the dbt models that join it follow
        analysed = conn.execute("select count(*) from pg_stats where schemaname = 'identity'"
                                " and tablename = 'person_record'").fetchone()[0]
        assert analysed > 0
        # migration 006: a record linked only by a rule without NIK is 'rule', an unknown method is refused
        with conn.transaction(force_rollback=True):
            conn.execute("update identity.person_record set match_method = 'rule', match_probability = null"
                         " where record_key = 'dinsos_dtks:ID000003'")
        with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
            conn.execute("update identity.person_record set match_method = 'guess'"
                         " where record_key = 'dinsos_dtks:ID000003'")
