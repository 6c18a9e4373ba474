"""Two kab/kota in one warehouse (issue 16): Kota Malang (35.73) and Kota Batu (35.79) configured together
(LINTAS_REGION_CODES=35.73,35.79), each delivering its own DTKS file for the month, plus a permit in Batu.

The warehouse must keep the two apart: dim_wilayah holds each city's kecamatan and kelurahan/desa, persons and
needs are counted under their own kab/kota, a corrected re-delivery of one city's month replaces that city's file
only, the raw gate bounds a city's file by that city's previous file (not the other city's), and the NIK check
accepts each region's own prefixes (and any other real kecamatan: a NIK records where one was first registered).
The large facts are partitioned by kab/kota: each city's rows are in its own partition, through a rebuild and a
second publish.
"""

from __future__ import annotations

import time
from datetime import date

import pytest
import sqlalchemy as sa
from psycopg import sql

from lintas import access, pipeline, settings, warehouse
from lintas.load.raw import RunContext
from tests.fixtures import izin_db
from tests.fixtures.dtks_files import member, write

CTX = RunContext("lintas_build_warehouse", "run-two-regions")
PERIOD = "2026-10"


def _nik(prefix: str, born: date, serial: int) -> str:
    return f"{prefix}{born:%d%m%y}{serial:04d}"


# kab/kota -> (file code, families: (kelurahan, kecamatan, NIK prefix of the head, desil))
MALANG = [("TLOGOMAS", "LOWOKWARU", "357305", d) for d in ("2", "2", "9", "9", "9", "9")]
BATU = [("TULUNGREJO", "BUMIAJI", "357902", "1"),
        ("Desa Tulungrejo", "Kec. Bumiaji", "357902", "3"),
        # born in Kabupaten Malang (35.07.01): the NIK keeps the place of first registration
        ("SISIR", "BATU", "350701", "4"),
        ("SISIR", "BATU", "357901", "8")]


def _family_rows(city: str, families, *, desil_override: dict[int, str] | None = None) -> list[dict[str, str]]:
    """Each family: a head and a 10-year-old child (both without any programme)."""
    rows = []
    for f, (kelurahan, kecamatan, prefix, desil) in enumerate(families):
        desil = (desil_override or {}).get(f, desil)
        kk = f"{prefix}0101{20 + f:02d}{f + 1:04d}"
        for m, (relationship, born, sex) in enumerate([("KEPALA KELUARGA", date(1980, 3, 1 + f), "L"),
                                                      ("ANAK", date(2016, 5, 1 + f), "L")]):
            i = 10 * f + m
            rows.append(member(i, PERIOD, IDDTKS=f"{city}{f}{m}", NO_KK=kk, NIK=_nik(prefix, born, i + 1),
                               NAMA=f"{city} KELUARGA {chr(65 + f)} ANGGOTA {chr(65 + m)}", JENIS_KELAMIN=sex,
                               TANGGAL_LAHIR=born.strftime("%d-%m-%Y"), HUBUNGAN_KELUARGA=relationship,
                               NAMA_IBU_KANDUNG=f"IBU {city} {chr(65 + f)}{m}", KELURAHAN=kelurahan,
                               KECAMATAN=kecamatan, DESIL=desil, PKH="TIDAK", BPNT="TIDAK", PBI_JK="TIDAK",
                               ALAMAT=f"JL. {city} NO. {f}"))
    return rows


# a Batu member whose NIK names no kecamatan anywhere: the check must be able to fail
UNKNOWN_PREFIX_NIK = _nik("359999", date(1990, 1, 1), 99)


def _batu_rows(**kw) -> list[dict[str, str]]:
    rows = _family_rows("BATU", BATU, **kw)
    rows.append(member(99, PERIOD, IDDTKS="BATU99", NO_KK="3579010101300099", NIK=UNKNOWN_PREFIX_NIK,
                       NAMA="BATU TANPA WILAYAH", JENIS_KELAMIN="L", TANGGAL_LAHIR="01-01-1990",
                       HUBUNGAN_KELUARGA="KEPALA KELUARGA", NAMA_IBU_KANDUNG="IBU TANPA WILAYAH",
                       KELURAHAN="SISIR", KECAMATAN="BATU", DESIL="9", PKH="TIDAK", BPNT="TIDAK", PBI_JK="TIDAK"))
    return rows


@pytest.fixture(scope="module")
def two_cities(postgres_server_url, template_database, tmp_path_factory):
    from tests.conftest import fresh_database

    folder = tmp_path_factory.mktemp("two_cities")
    outbox = folder / "outbox" / "dinsos"
    outbox.mkdir(parents=True)
    url = fresh_database(postgres_server_url, template_database)
    started = time.monotonic()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAREHOUSE_URL", url)
        env.setenv("LINTAS_OUTBOX_DINSOS", str(outbox))
        env.setenv("LINTAS_REGION_CODES", "35.73,35.79")
        settings.reload()
        # Malang (12 rows) is loaded first, then Batu (9): bounded by Malang's file, Batu's would "shrink" 25%
        write(outbox, "DTKS_3573_202610.csv", _family_rows("MALANG", MALANG))
        write(outbox, "DTKS_3579_202610.csv", _batu_rows())
        pipeline.gate_source("dinsos_dtks", pipeline.extract_files("dinsos_dtks", CTX), CTX)
        # Batu corrects its month: family D was in decile 8, is in 2. Malang's month must stay as delivered.
        write(outbox, "DTKS_3579_202610.csv", _batu_rows(desil_override={3: "2"}))
        pipeline.gate_source("dinsos_dtks", pipeline.extract_files("dinsos_dtks", CTX), CTX)

        agency_db = f"sqlite:///{folder / 'dpmptsp.sqlite'}"
        engine = sa.create_engine(agency_db)
        izin_db.create(engine)
        izin_db.insert(engine, "izin_usaha", [izin_db.permit(
            1, nik_penanggung_jawab=_nik("357902", date(1980, 3, 1), 1), nama_penanggung_jawab="BATU KELUARGA A"
            " ANGGOTA A", kelurahan="TULUNGREJO", kode_wilayah="3579022003")])
        izin_db.insert(engine, "izin_usaha_kbli", [izin_db.kbli(1, 1)])
        engine.dispose()
        for report in pipeline.extract_izin(CTX, url=agency_db).values():
            pipeline.gate_source(report["source"], report, CTX)
        pipeline.build_warehouse(CTX)
    print(f"two regions delivered and built in {time.monotonic() - started:.1f} s")
    yield url
    warehouse.drop_database(url)


def _rows(url: str, query: str) -> list[tuple]:
    with warehouse.connect(url) as conn:
        return conn.execute(query).fetchall()


def test_dim_wilayah_holds_each_citys_areas(two_cities):
    rows = _rows(two_cities, "select coalesce(kode_kabkota, kode_wilayah), count(*) filter (where level = 3),"
                             " count(*) filter (where level = 4), count(*) filter (where jenis = 'desa')"
                             " from marts.dim_wilayah group by 1 order by 1")
    # the province, then Kota Malang (5 kecamatan, 57 kelurahan), Kota Batu (3 kecamatan, 5 kelurahan, 19 desa)
    assert rows == [("35", 0, 0, 0), ("35.73", 5, 57, 0), ("35.79", 3, 24, 19)]
    # BPS codes where the crosswalk covers the city (Malang), none made up for Batu
    assert _rows(two_cities, "select kode_kabkota, count(kode_bps) from marts.dim_wilayah where level >= 3"
                             " group by 1 order by 1") == [("35.73", 62), ("35.79", 0)]


def test_batches_are_kept_per_kabkota(two_cities):
    batches = _rows(two_cities, "select kode_kabkota, status, rows_loaded from audit.load_batch"
                                " where source = 'dinsos_dtks' order by batch_id")
    assert batches == [("35.73", "accepted", 12), ("35.79", "accepted", 9), ("35.79", "accepted", 9)]
    # the month's register is both cities' latest files: Malang's not replaced by Batu's correction
    assert _rows(two_cities, "select left(kode_kelurahan, 5), count(*)"
                             " from intermediate.int_dinsos__dtks_members_located group by 1 order by 1"
                 ) == [("35.73", 12), ("35.79", 9)]


def test_persons_and_needs_are_counted_per_kabkota(two_cities):
    persons = _rows(two_cities, "select left(kode_kelurahan, 5), count(*) from marts.dim_person group by 1"
                                " order by 1")
    assert persons == [("35.73", 12), ("35.79", 9)]
    placed = _rows(two_cities, "select kode_kelurahan, count(*) from marts.dim_person"
                               " where kode_kelurahan like '35.79.%' group by 1 order by 1")
    assert placed == [("35.79.01.1004", 5), ("35.79.02.2003", 4)]  # Sisir; Tulungrejo, in either spelling
    # children of families in deciles 1-4 without KIP: Malang A, B; Batu A, B, C and (corrected) D; and Batu A's
    # head holds a micro permit without a BPR loan
    needs = _rows(two_cities, "select left(kode_kelurahan, 5), rule_code, count(*) from marts.fct_person_needs"
                              " group by 1, 2 order by 1, 2")
    assert needs == [("35.73", "ANAK_TANPA_KIP", 2), ("35.79", "ANAK_TANPA_KIP", 4),
                     ("35.79", "USAHA_MIKRO_TANPA_BPR", 1)]
    households = _rows(two_cities, "select left(kode_kelurahan, 5), rule_code, count(*)"
                                   " from marts.fct_household_needs group by 1, 2 order by 1, 2")
    assert households == [("35.73", "RUMAH_TANGGA_TANPA_PROGRAM", 2), ("35.79", "RUMAH_TANGGA_TANPA_PROGRAM", 4)]
    # the area reports: every kelurahan/desa of both cities has its rows, and the counts roll up per city
    area = _rows(two_cities, "select left(kode_kelurahan, 5), count(distinct kode_kelurahan), sum(persons),"
                             " sum(households) from marts.rpt_kelurahan_needs group by 1 order by 1")
    # persons: person needs + members of households in need; households: distinct family cards per rule
    assert area == [("35.73", 57, 2 + 2 * 2, 2 + 2), ("35.79", 24, 4 + 1 + 4 * 2, 4 + 1 + 4), ("TIDAK", 1, 0, 0)]
    kecamatan = dict(_rows(two_cities, "select kode_kecamatan, sum(persons) from marts.rpt_kecamatan_needs"
                                       " where persons > 0 group by 1"))
    assert kecamatan == {"35.73.05": 2 + 4, "35.79.01": 2 + 4, "35.79.02": 2 + 1 + 4}  # Lowokwaru; Batu; Bumiaji
    # the permit in Batu is participation there
    assert _rows(two_cities, "select left(person.kode_kelurahan, 5), participation.programme"
                             " from marts.fct_programme_participation as participation"
                             " join marts.dim_person as person using (person_id)"
                             " where participation.programme = 'IZIN_USAHA'") == [("35.79", "IZIN_USAHA")]


def test_nik_prefix_check_accepts_each_regions_own_prefixes(two_cities):
    checks = {prefix: (valid, problems) for prefix, valid, problems in _rows(
        two_cities, "select distinct left(nik, 6), nik_is_valid, nik_problems"
                    " from intermediate.int_identity__person_records")}
    assert checks == {"357305": (True, []), "357902": (True, []), "357901": (True, []), "350701": (True, []),
                      "359999": (False, ["unknown_region"])}


def test_retention_supersedes_a_dtks_file_only_by_its_own_kab_kotas_later_file(two_cities):
    """Batu's correction supersedes Batu's first file of the month, never Malang's file of the same month (the
    rule ranked batches per month alone before: Malang's month would have been purged as superseded)."""
    from lintas.privacy import retention

    with warehouse.connect(two_cities) as conn:
        due = [r[0] for r in conn.execute(retention._SUPERSEDED_BATCHES[retention.DTKS], {
            "source": "dinsos_dtks", "days": -1, "keep_periods": 2})]  # every batch counts as old enough
        accepted = dict(conn.execute("select batch_id, source_ref from audit.load_batch"
                                     " where source = 'dinsos_dtks' and status = 'accepted' order by batch_id"))
    batu = sorted(b for b, name in accepted.items() if name.startswith("DTKS_3579_"))
    assert len(batu) == 2 and any(name.startswith("DTKS_3573_") for name in accepted.values())
    assert due == [batu[0]]


PARTITIONED = ("fct_programme_participation", "fct_person_needs", "fct_household_needs")


def _partition_rows(url: str, schema: str, table: str) -> dict[str, int]:
    """partition -> rows, by the partition each row is stored in (tableoid), empty partitions included."""
    query = sql.SQL("select c.relname, count(t.tableoid) from pg_inherits i join pg_class c on c.oid = i.inhrelid"
                    " left join {} as t on t.tableoid = c.oid where i.inhparent = {}::regclass and c.relkind = 'r'"
                    " group by 1 order by 1").format(sql.Identifier(schema, table), sql.Literal(f"{schema}.{table}"))
    with warehouse.connect(url) as conn:
        return dict(conn.execute(query).fetchall())


def _check_partitions(url: str) -> dict[str, dict[str, int]]:
    found = {table: _partition_rows(url, "marts", table) for table in PARTITIONED}
    assert found["fct_person_needs"] == {"fct_person_needs__3573": 2, "fct_person_needs__3579": 5,
                                         "fct_person_needs__default": 0}
    assert found["fct_household_needs"] == {"fct_household_needs__3573": 2, "fct_household_needs__3579": 4,
                                            "fct_household_needs__default": 0}
    participation = found["fct_programme_participation"]
    assert set(participation) == {"fct_programme_participation__3573", "fct_programme_participation__3579",
                                  "fct_programme_participation__default"}
    assert participation["fct_programme_participation__3579"] >= 1 and \
        participation["fct_programme_participation__default"] == 0
    # every participation is stored in the partition of the kab/kota dim_person places its person in
    misplaced = _rows(url, "select count(*) from marts.fct_programme_participation as p"
                           " join marts.dim_person as d using (person_id)"
                           " where p.tableoid <> ('marts.fct_programme_participation__'"
                           "                      || replace(left(d.kode_kelurahan, 5), '.', ''))::regclass")
    assert misplaced == [(0,)]
    # partitions live in the schema of their table: nothing was left behind in the build or previous schema
    elsewhere = _rows(url, "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                           " where c.relispartition and c.relkind = 'r' and n.nspname <> 'marts'")
    assert elsewhere == [(0,)]
    return found


def test_each_regions_rows_are_stored_in_its_own_partition(two_cities):
    from lintas.quality import gate

    found = _check_partitions(two_cities)
    assert gate.rows_per_partition("marts", url=two_cities) == found, "what the mart gate reports per region"
    # a query for one city reads that city's partition only
    plan = "\n".join(r[0] for r in _rows(two_cities, "explain select count(*) from marts.fct_person_needs"
                                                     " where kode_kabkota = '35.79'"))
    assert "fct_person_needs__3579" in plan and "__3573" not in plan and "__default" not in plan


def test_a_partitioned_mart_is_rebuilt_over_itself(two_cities, monkeypatch):
    """dbt rebuilds a table by building it aside and renaming: the old table's partitions (same names) must make
    way, and the new ones keep the model's names (as when an Airflow task re-runs one model)."""
    from lintas.transform import dbt, publish

    monkeypatch.setenv("LINTAS_REGION_CODES", "35.73,35.79")
    settings.reload()
    for _ in range(2):
        dbt.run(["run", "--select", "fct_household_needs"], two_cities)
    try:
        assert _partition_rows(two_cities, publish.BUILD_SCHEMA, "fct_household_needs") == {
            "fct_household_needs__3573": 2, "fct_household_needs__3579": 4, "fct_household_needs__default": 0}
        leftovers = _rows(two_cities, "select relname from pg_class where relname like 'fct_household_needs%'"
                                      " and relname ~ '(__replaced|__dbt_tmp|__dbt_backup)$'")
        assert leftovers == []
    finally:
        publish.reset_build_schema(two_cities)


def test_a_second_build_and_publish_keeps_the_partitions_and_their_access(two_cities, monkeypatch):
    from lintas.transform import publish

    monkeypatch.setenv("WAREHOUSE_URL", two_cities)
    monkeypatch.setenv("LINTAS_REGION_CODES", "35.73,35.79")
    settings.reload()
    before = publish.fingerprint(two_cities)
    pipeline.build_warehouse(RunContext(CTX.dag_id, "run-two-regions-2"))
    assert publish.latest_published(two_cities)[1] == "run-two-regions-2"
    _check_partitions(two_cities)
    after = publish.fingerprint(two_cities)
    assert set(after) == set(before) and set(PARTITIONED) <= set(after) and not [t for t in after if "__" in t], \
        "published tables are counted once, partitions in their table"
    assert {t: after[t][0] for t in PARTITIONED} == {t: before[t][0] for t in PARTITIONED}
    # readers are granted the partitioned tables, never a partition, which carries the table's policy anyway
    with warehouse.connect(two_cities) as conn:
        granted = conn.execute(
            "select c.relname, a.grantee::regrole::text from pg_class c, aclexplode(c.relacl) a"
            " where c.relispartition and c.relnamespace = 'marts'::regnamespace and a.grantee <> c.relowner"
            " and a.grantee <> 'lintas_engineer'::regrole").fetchall()
        protected = conn.execute(
            "select count(*), count(*) filter (where c.relrowsecurity and c.relforcerowsecurity"
            " and exists (select from pg_policy p where p.polrelid = c.oid and p.polname = 'area_scope'))"
            " from pg_class c where c.relispartition and c.relkind = 'r' and c.relnamespace = 'marts'::regnamespace"
        ).fetchone()
        assert access.fingerprints(conn) == access.fingerprints(conn)
    assert granted == []
    assert protected == (9, 9)
    access.apply(two_cities)
    assert access.apply(two_cities) is False, "the access fingerprint is stable while nothing changes"
