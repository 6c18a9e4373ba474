"""The marts from all four agencies: one hand-made town where every need rule has exactly one case to find.

Families in the welfare register (DTKS, two monthly snapshots), students from the Dapodik stand-in, a UMKM
workbook and the licensing database; the warehouse build links them and the marts must find precisely the needs
planted here, keep history, and answer the example queries of docs/analysts.md.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa

from lintas import pipeline, settings, warehouse
from lintas.load.raw import RunContext
from lintas_sandbox.standins.dapodik import DapodikServer
from tests.fixtures import izin_db
from tests.fixtures.dapodik_records import TOKEN, student
from tests.fixtures.dtks_files import member, write
from tests.fixtures.umkm_workbooks import owner, write_workbook

CTX = RunContext("lintas_build_warehouse", "run-marts")


def nik(sex: str, born: date, serial: int) -> str:
    """A valid Lowokwaru (35.73.05) NIK: birth day + 40 for women."""
    day = born.day + (40 if sex == "P" else 0)
    return f"357305{day:02d}{born:%m%y}{serial:04d}"


KK_A, KK_B, KK_C, KK_D, KK_E = (f"35730501012{n}0001" for n in range(5))  # KK_E..: fillers
# key: (name, sex, birth date, family card, relationship)
PEOPLE = {
    "A0": ("SUPRIYADI", "L", date(1980, 1, 15), KK_A, "KEPALA KELUARGA"),
    "A1": ("NUR AINI", "P", date(2014, 6, 1), KK_A, "ANAK"),  # 12, not at school in Dapodik, no KIP
    "A2": ("AHMAD FAUZI", "L", date(2011, 3, 9), KK_A, "ANAK"),  # at school with KIP
    "B0": ("SRI WAHYUNI", "P", date(1975, 7, 20), KK_B, "KEPALA KELUARGA"),  # no programme; micro permit
    "C0": ("JOKO SUSILO", "L", date(1979, 11, 2), KK_C, "KEPALA KELUARGA"),  # family left DTKS in 2026-10
    "C1": ("RINA MARLINA", "P", date(2012, 8, 30), KK_C, "ANAK"),  # KIP holder
    "D0": ("HENDRA GUNAWAN", "L", date(1968, 4, 4), KK_D, "KEPALA KELUARGA"),  # PKH in desil 8
    "S9": ("YOGI PRATAMA", "L", date(2010, 2, 2), "3573050101250009", None),  # KIP, never in DTKS
    # KIP, never in DTKS, runs a business; her records disagree on her kelurahan (see _students)
    "E0": ("DEWI LESTARI", "P", date(2008, 4, 12), "3573050101250010", None),
}
NIK = {key: nik(sex, born, i + 1) for i, (key, (_, sex, born, _, _)) in enumerate(PEOPLE.items())}
DESIL = {KK_A: "2", KK_B: "3", KK_C: "1", KK_D: "8"}
PKH = {"A0", "D0"}


def _dtks_row(i: int, key: str, period: str) -> dict[str, str]:
    name, sex, born, kk, relationship = PEOPLE[key]
    return member(i, period, IDDTKS=f"DT{key}", NO_KK=kk, NIK=NIK[key], NAMA=name, JENIS_KELAMIN=sex,
                  TANGGAL_LAHIR=born.strftime("%d-%m-%Y"), HUBUNGAN_KELUARGA=relationship,
                  NAMA_IBU_KANDUNG=f"IBU {key}", KELURAHAN="TLOGOMAS", KECAMATAN="LOWOKWARU", DESIL=DESIL[kk],
                  PKH="YA" if key in PKH else "TIDAK", BPNT="TIDAK", PBI_JK="TIDAK")


FILLER_NAMES = ["AGUS SALIM", "BUDI HARTONO", "CAHYO UTOMO", "DIDIK PRASETYO", "EKO WIBOWO", "FAJAR NUGROHO",
                "GALIH SAPUTRA", "HARIS MUNANDAR", "IRFAN HAKIM", "JUNAEDI", "KUSNADI", "LUKMAN HAKIM",
                "MAMAN SURYAMAN", "NANANG KOSIM", "OKTAVIANUS", "PARNO", "QOMARUDIN", "RUDI HERMAWAN",
                "SLAMET RIYADI", "TAUFIK HIDAYAT"]


def _filler_row(i: int, period: str) -> dict[str, str]:
    """A member of better-off families present in both months, so the register does not shrink > 10% (a gate)."""
    born = date(1950 + 2 * i, 1 + i % 12, 1 + i)
    return member(100 + i, period, IDDTKS=f"FILL{i:02d}", NO_KK=f"{KK_E[:-2]}{i:02d}", NIK=nik("L", born, 100 + i),
                  NAMA=FILLER_NAMES[i], JENIS_KELAMIN="L", TANGGAL_LAHIR=born.strftime("%d-%m-%Y"),
                  HUBUNGAN_KELUARGA="KEPALA KELUARGA", NAMA_IBU_KANDUNG=f"IBU {FILLER_NAMES[-1 - i]}",
                  KELURAHAN="TLOGOMAS", KECAMATAN="LOWOKWARU", DESIL="9", PKH="TIDAK", BPNT="TIDAK", PBI_JK="YA")


def _student(i: int, key: str, kip: bool, **overrides) -> dict:
    name, sex, born, kk, _ = PEOPLE[key]
    fields = dict(nik=NIK[key], no_kk=kk, nama=name, jenis_kelamin=sex, tanggal_lahir=born.isoformat(),
                  nama_ibu_kandung=f"IBU {key}", kelurahan="TLOGOMAS", kecamatan="LOWOKWARU",
                  penerima_kip=kip, no_kip="KIP-1" if kip else None, layak_pip=kip)
    return student(i, **fields | overrides)


STUDENT_IDS = {3: "S9", 4: "E0", 5: "E0"}  # peserta_didik_id number -> planted person


def _students() -> list[dict]:
    # E0's best record, her newest in Dapodik, names a kelurahan outside the city; an older Dapodik record (the
    # next best source) says Dinoyo, her UMKM row of 2026 (stated after it) Sukoharjo: every mart places her in
    # Sukoharjo, the most recently stated kelurahan
    return [_student(1, "A2", True), _student(2, "C1", True), _student(3, "S9", True),
            _student(4, "E0", True, kelurahan="SINGOSARI", kecamatan="SINGOSARI", jenjang="SMK", tingkat_kelas=12),
            _student(5, "E0", True, kelurahan="DINOYO", jenjang="SMK", tingkat_kelas=11.0,  # a JSON float
                     updated_at="2025-07-01T08:00:00+07:00")]


@pytest.fixture(scope="module")
def town(postgres_server_url, template_database, tmp_path_factory):
    """Deliver every agency's data, gate it, build the warehouse once for the module; yields the warehouse URL."""
    from tests.conftest import fresh_database

    folder = tmp_path_factory.mktemp("town")
    outbox, umkm_outbox = folder / "outbox" / "dinsos", folder / "outbox" / "diskopindag"
    outbox.mkdir(parents=True)
    umkm_outbox.mkdir(parents=True)
    url = fresh_database(postgres_server_url, template_database)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAREHOUSE_URL", url)
        env.setenv("LINTAS_OUTBOX_DINSOS", str(outbox))
        env.setenv("LINTAS_OUTBOX_DISKOPINDAG", str(umkm_outbox))
        settings.reload()
        _deliver_and_build(folder, outbox, umkm_outbox)
    yield url
    warehouse.drop_database(url)


def _deliver_and_build(folder, outbox, umkm_outbox) -> None:
    september = ["A0", "A1", "A2", "B0", "C0", "C1", "D0"]
    october = ["A0", "A1", "A2", "B0", "D0"]
    fillers = range(20)
    write(outbox, "DTKS_3573_202609.csv", [_dtks_row(i, k, "2026-09") for i, k in enumerate(september)]
          + [_filler_row(i, "2026-09") for i in fillers])
    write(outbox, "DTKS_3573_202610.csv", [_dtks_row(i, k, "2026-10") for i, k in enumerate(october)]
          + [_filler_row(i, "2026-10") for i in fillers])
    owners = [owner(i, **{"NAMA PEMILIK": PEOPLE[key][0], "NIK": NIK[key], "JENIS KELAMIN": PEOPLE[key][1],
                          "TANGGAL LAHIR": PEOPLE[key][2], "KELURAHAN": kelurahan, "KECAMATAN": kecamatan,
                          "NIB": None, "NAMA KOPERASI": None, "NOMOR INDUK KOPERASI": None,
                          "PINJAMAN MODAL BPR": "TIDAK", "NILAI PINJAMAN (Rp)": None})
              for i, (key, kelurahan, kecamatan) in enumerate([("A0", "TLOGOMAS", "LOWOKWARU"),
                                                               ("E0", "SUKOHARJO", "KLOJEN")])]
    write_workbook(umkm_outbox / "UMKM_BINAAN_2026.xlsx", {"LOWOKWARU": owners})
    agency_db = f"sqlite:///{folder / 'dpmptsp.sqlite'}"
    engine = sa.create_engine(agency_db)
    izin_db.create(engine)
    izin_db.insert(engine, "izin_usaha", [izin_db.permit(
        1, nik_penanggung_jawab=NIK["B0"], nama_penanggung_jawab=PEOPLE["B0"][0], skala_usaha="MIKRO",
        status="AKTIF", kelurahan="TLOGOMAS", kode_wilayah="3573051003")])
    izin_db.insert(engine, "izin_usaha_kbli", [izin_db.kbli(1, 1)])
    engine.dispose()

    reports = [pipeline.extract_files("dinsos_dtks", CTX), pipeline.extract_files("diskopindag_umkm", CTX)]
    with DapodikServer(_students(), token=TOKEN) as api:
        reports.append(pipeline.extract_dapodik(CTX, base_url=api.base_url, token=TOKEN))
    reports += list(pipeline.extract_izin(CTX, url=agency_db).values())
    for report in reports:
        pipeline.gate_source(report["source"], report, CTX)
    pipeline.build_warehouse(CTX)


def _rows(url: str, query: str) -> list[tuple]:
    with warehouse.connect(url) as conn:
        return conn.execute(query).fetchall()


def _person_keys(url: str) -> dict[int, str]:
    """person id -> the planted person's key (A0, S9, ...), through the source records' ids."""
    rows = _rows(url, "select person_id, record_key from intermediate.int_identity__person_records")
    keys: dict[int, str] = {}
    for person_id, record_key in rows:
        planted = re.search(r"DT(\w\d)$", record_key)
        if planted:
            keys[person_id] = planted.group(1)
    for person_id, record_key in rows:
        for number, key in STUDENT_IDS.items():
            if record_key.endswith(f"{number:012d}"):
                keys[person_id] = key
    return keys


def test_every_planted_need_is_found_and_nothing_else(town):
    keys = _person_keys(town)
    person_needs = {(keys.get(p), rule, agency) for p, rule, agency in
                    _rows(town, "select person_id, rule_code, acting_agency from marts.fct_person_needs")}
    assert person_needs == {
        ("A1", "ANAK_TANPA_KIP", "disdik"),
        ("C1", "KIP_KELUAR_DTKS", "disdik"),
        ("S9", "KIP_DI_LUAR_DTKS", "dinsos"),
        ("E0", "KIP_DI_LUAR_DTKS", "dinsos"),
        ("D0", "BANSOS_DESIL_TINGGI", "dinsos"),
        ("A0", "UMKM_TANPA_IZIN", "dpmptsp"),
        ("B0", "USAHA_MIKRO_TANPA_BPR", "diskopindag"),
    }
    assert _rows(town, "select no_kk, rule_code, members from marts.fct_household_needs") == [
        (KK_B, "RUMAH_TANGGA_TANPA_PROGRAM", 1)]
    # the evidence points at the records that prove the need
    evidence = dict(_rows(town, "select rule_code, evidence_record_keys from marts.fct_person_needs"))
    assert evidence["USAHA_MIKRO_TANPA_BPR"] == ["dpmptsp_izin_usaha:1"]
    assert evidence["ANAK_TANPA_KIP"] == ["dinsos_dtks:DTA1"]
    # the Musyawarah Kelurahan table reconciles with the facts: all in Tlogomas but E0, in Sukoharjo
    assert _rows(town, "select kode_kelurahan, sum(persons), sum(households) from marts.rpt_kelurahan_needs"
                       " where persons > 0 group by 1 order by 1") == [("35.73.02.1005", 1, 1),
                                                                       ("35.73.05.1003", 7, 7)]
    # a row for every kelurahan (and the unknown one) and rule, zero where nobody has the need, one as-of date
    assert _rows(town, "select count(*) = (select count(*) + 1 from marts.dim_wilayah where level = 4)"
                       " * (select count(*) from reference.need_rules), count(distinct as_of_date), min(persons)"
                       " from marts.rpt_kelurahan_needs") == [(True, 1, 0)]
    assert _rows(town, "select sum(persons) from marts.rpt_kecamatan_needs where kode_kecamatan = '35.73.05'"
                 ) == [(7,)]


def test_a_grade_sent_as_a_json_float_is_read_as_the_grade(town):
    grades = sorted(grade for (grade,) in _rows(
        town, "select tingkat_kelas from staging.stg_disdik__students where jenjang = 'SMK'"))
    assert grades == [11, 12]


def test_a_person_is_in_one_kelurahan_in_every_mart(town):
    """dim_person, fct_person_needs and the kelurahan counts place a person alike (int_persons__best_attributes):
    E0, whose best record names no kelurahan of the city, is in Sukoharjo in all three, not in Dinoyo."""
    keys = _person_keys(town)
    placed = {keys.get(p, "filler"): kelurahan or "TIDAK DIKETAHUI"
              for p, kelurahan in _rows(town, "select person_id, kode_kelurahan from marts.dim_person")}
    assert placed["E0"] == "35.73.02.1005"
    needs = [(keys[p], rule, kelurahan or "TIDAK DIKETAHUI") for p, rule, kelurahan in _rows(
        town, "select person_id, rule_code, kode_kelurahan from marts.fct_person_needs")]
    assert ("E0", "KIP_DI_LUAR_DTKS", "35.73.02.1005") in needs
    assert [(key, kelurahan) for key, _, kelurahan in needs] == [(key, placed[key]) for key, _, _ in needs]
    counts = {(kelurahan, rule): persons for kelurahan, rule, persons in _rows(
        town, "select kode_kelurahan, rule_code, persons from marts.rpt_kelurahan_needs"
              " where rule_level = 'person' and persons > 0")}
    assert counts == Counter((placed[key], rule) for key, rule, _ in needs)


def test_persons_households_and_participation(town):
    keys = _person_keys(town)
    persons = {keys.get(p, "filler"): rest for p, *rest in _rows(
        town, "select person_id, nik, nik_is_valid, no_kk, in_dtks, in_dapodik, in_umkm, in_izin, kode_kelurahan"
              " from marts.dim_person")}
    assert set(persons) == set(PEOPLE) | {"filler"}
    assert _rows(town, "select count(*) from marts.dim_person") == [(len(PEOPLE) + 20,)]  # 33 records
    assert persons["A0"] == [NIK["A0"], True, KK_A, True, False, True, False, "35.73.05.1003"]
    assert persons["B0"][3:7] == [True, False, False, True]
    assert persons["S9"][2:5] == [PEOPLE["S9"][3], False, True]

    households = {r[0]: r[1:] for r in _rows(
        town, "select no_kk, members, is_in_dtks_current, desil, dtks_last_periode, students, kip_recipients"
              " from marts.dim_household")}
    assert households[KK_A] == (3, True, 2, "2026-10", 1, 1)
    assert households[KK_C] == (2, False, 1, "2026-09", 1, 1)  # left the register, still a family

    participation = {(keys.get(p, "filler"), programme, period) for p, programme, period in _rows(
        town, "select person_id, programme, period from marts.fct_programme_participation")}
    assert {("A0", "PKH", "2026-09"), ("A0", "PKH", "2026-10"), ("A2", "KIP", "2026-10"),
            ("A0", "PELATIHAN_UMKM", "2026-01"), ("B0", "IZIN_USAHA", "2026-10")} <= participation
    assert not {row for row in participation if row[0] == "B0" and row[1] in ("PKH", "BPNT", "PBI_JK")}
    permit = _rows(town, "select nibs, kbli_codes, skala_usaha, is_active from marts.fct_programme_participation"
                         " where programme = 'IZIN_USAHA'")
    assert permit == [(["1200000000001"], ["56102"], "MIKRO", True)]


def test_register_history_answers_as_of_a_month(town):
    keys = _person_keys(town)
    events = {(keys[p], event, period) for p, event, period in _rows(
        town, "select person_id, event_type, periode from marts.fct_dtks_register_events")}
    assert events == {("C0", "keluar", "2026-10"), ("C1", "keluar", "2026-10")}
    as_of = ("select person_id from marts.dim_dtks_member_history"
             " where valid_from <= date '{0}' and (valid_to is null or date '{0}' < valid_to)")
    september = {keys.get(p, "filler") for (p,) in _rows(town, as_of.format("2026-09-15"))}
    assert september == {"A0", "A1", "A2", "B0", "C0", "C1", "D0", "filler"}
    october = {keys.get(p, "filler") for (p,) in _rows(town, as_of.format("2026-10-15"))}
    assert october == {"A0", "A1", "A2", "B0", "D0", "filler"}
    snapshot = _rows(town, "select no_kk, is_in_dtks_current from snapshots.snap_dtks_household_status"
                           " where dbt_valid_to is null order by no_kk")
    assert snapshot[:4] == [(KK_A, True), (KK_B, True), (KK_C, False), (KK_D, True)]
    assert len(snapshot) == 4 + 20  # and the twenty filler families


def test_the_analysts_guide_queries_run(town):
    """Every SQL example in docs/analysts.md runs against the built warehouse and finds the example person."""
    guide = (settings.project_root() / "docs" / "analysts.md").read_text(encoding="utf-8")
    queries = re.findall(r"```sql\n(.*?)```", guide, flags=re.S)
    assert len(queries) >= 8
    with warehouse.connect(town) as conn:
        for query in queries:
            rows = conn.execute(query).fetchall()
            assert rows, f"no rows for the guide's query:\n{query}"


def test_the_need_rules_unit_tests_pass(town, monkeypatch):
    """dbt's unit tests (hand-made rows for every need rule and the history models), run against the town's
    warehouse: warehouse builds leave them out, CI runs them here."""
    from lintas.transform import dbt

    monkeypatch.setenv("WAREHOUSE_URL", town)
    settings.reload()
    outcome = dbt.run(["test", "--select", "test_type:unit"], town)
    assert outcome.count("pass") == len(outcome.results) >= 7
