"""Access control enforced by PostgreSQL: each role is tried on what it must not do, and fails.

A town in two kecamatan (Lowokwaru 35.73.05, Blimbing 35.73.01) is built and published once; logins with unique
names (roles are cluster-wide) are made members of the shared group roles and connect as themselves.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.abc import Query

from lintas import access, pipeline, settings, warehouse
from lintas.load.raw import RunContext
from lintas.transform import publish
from tests.fixtures.dtks_files import member, write

KEY = "test-pseudonym-key-not-a-secret"
LOWOKWARU, BLIMBING = "35.73.05", "35.73.01"
# kelurahan -> (kecamatan name, region digits of NIK/KK, families, children per family)
PLACES = {"TLOGOMAS": ("LOWOKWARU", "357305", 3, 4),   # 12 children without KIP: a public cell
          "MERJOSARI": ("LOWOKWARU", "357305", 1, 2),  # 2 children: suppressed, and one more cell with it
          "POLOWIJEN": ("BLIMBING", "357301", 2, 3)}   # 6 children


NAMES = ["AGUS SALIM", "BAMBANG HERU", "CITRA DEWI", "DANANG ARIF", "ENDANG SRI", "FIRMAN JAYA", "GILANG RAMADHAN",
         "HADI SUCIPTO", "INDAH PERMATA", "JOKO WIDODO", "KARTIKA SARI", "LUTFI HAKIM", "MULYONO", "NOVITA PUTRI",
         "OKI SETIAWAN", "PUTU ARYA", "QORI ANDINI", "RAHMAT HIDAYAT", "SLAMET RIYADI", "TEGUH SANTOSO",
         "UMI KALSUM", "VINA MELATI", "WAHYU NUGROHO", "YUDI LATIF", "ZAINAL ABIDIN", "ASTUTI NINGSIH",
         "BUDIMAN TAN"]


def _town_rows() -> list[dict[str, str]]:
    """Families with a head (born 1970s) and school-age children without KIP; every person a distinct name
    and birth date, so linkage keeps them apart."""
    rows, i = [], 0
    for f_no, (kelurahan, (kecamatan, region, families, children)) in enumerate(PLACES.items()):
        for family in range(families):
            kk = f"{region}010120{f_no}{family:03d}"
            for person in range(children + 1):
                day, month, year = 1 + i % 28, 1 + i % 12, 1975 if person == 0 else 2010 + person
                rows.append(member(i, NO_KK=kk, NIK=f"{region}{day:02d}{month:02d}{year % 100:02d}{i + 1:04d}",
                                   NAMA=NAMES[i], JENIS_KELAMIN="L", TANGGAL_LAHIR=f"{day:02d}-{month:02d}-{year}",
                                   KELURAHAN=kelurahan, KECAMATAN=kecamatan, DESIL="2", PKH="TIDAK", BPNT="TIDAK",
                                   PBI_JK="TIDAK", HUBUNGAN_KELUARGA="KEPALA KELUARGA" if person == 0 else "ANAK",
                                   ALAMAT=f"JL. MAWAR NO. {i}"))
                i += 1
    # one resident whose kelurahan resolves nowhere: no kecamatan login may see them
    rows.append(member(i, NO_KK="3573050101209999", NIK=f"357305150180{i + 1:04d}", NAMA=NAMES[i],
                       JENIS_KELAMIN="L", TANGGAL_LAHIR="15-01-1980", KELURAHAN="ANTAH BERANTAH", DESIL="2"))
    return rows


def _build(run_id: str) -> None:
    ctx = RunContext("test_access", run_id)
    pipeline.build_warehouse(ctx)


@pytest.fixture(scope="module")
def town(postgres_server_url, template_database, tmp_path_factory):
    from tests.conftest import fresh_database

    outbox = tmp_path_factory.mktemp("access") / "dinsos"
    outbox.mkdir()
    url = fresh_database(postgres_server_url, template_database)
    tag = uuid.uuid4().hex[:8]
    logins = {"kec_lowokwaru": ("kecamatan", [LOWOKWARU]), "kec_blimbing": ("kecamatan", [BLIMBING]),
              "analyst": ("analyst", None), "auditor": ("auditor", None), "public": ("public", None),
              "engineer": ("engineer", None), "pipeline": ("pipeline", None)}
    names = {short: f"t_{tag}_{short}" for short in logins}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAREHOUSE_URL", url)
        env.setenv("LINTAS_OUTBOX_DINSOS", str(outbox))
        env.setenv("LINTAS_PSEUDONYM_KEY", KEY)
        settings.reload()
        warehouse.prepare(url)
        write(outbox, "DTKS_3573_202610.csv", _town_rows())
        ctx = RunContext("test_access", "run-load")
        pipeline.gate_source("dinsos_dtks", pipeline.extract_files("dinsos_dtks", ctx), ctx)
        _build("run-1")
        for short, (role, kecamatan) in logins.items():
            access.grant_login(names[short], role, kecamatan=kecamatan, url=url)
        yield {"url": url, "login": names}
    warehouse.drop_database(url)
    with warehouse.connect(postgres_server_url) as conn:
        for name in names.values():
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))


def _login_url(town, short: str) -> str:
    parts = urlsplit(town["url"])
    return urlunsplit(parts._replace(netloc=f"{town['login'][short]}@{parts.netloc.rsplit('@', 1)[-1]}"))


def _as(town, short: str):
    return psycopg.connect(_login_url(town, short), autocommit=True)


def _rows(town, short: str | None, query: Query, params=None) -> list[tuple]:
    if short is None:
        with warehouse.connect(town["url"]) as conn:
            return conn.execute(query, params).fetchall()
    with _as(town, short) as conn:
        return conn.execute(query, params).fetchall()


def _denied(town, short: str, query: Query, error=errors.InsufficientPrivilege) -> None:
    with _as(town, short) as conn, pytest.raises(error):
        conn.execute(query)


def _kecamatan_counts(town, short: str | None, kecamatan: str | None) -> dict[str, int]:
    def where(condition: str) -> sql.Composable:
        return sql.SQL("") if kecamatan is None else sql.SQL(" where ") + sql.SQL(condition).format(
            sql.Literal(kecamatan))

    def count(query: str, schema: str, table: str, condition: sql.Composable) -> int:
        return _rows(town, short, sql.SQL(query).format(sql.Identifier(schema, table), condition))[0][0]

    prefix = "marts" if short is None else "identified"
    counts = {t: count("select count(*) from {}{}", prefix, t, where("left(kode_kelurahan, 8) = {}"))
              for t in ("dim_person", "dim_household", "fct_person_needs", "fct_household_needs")}
    counts["kelurahan_needs_persons"] = count("select coalesce(sum(persons), 0) from {}{}", "marts",
                                              "rpt_kelurahan_needs", where("kode_kecamatan = {}"))
    counts["kecamatan_needs_persons"] = count("select coalesce(sum(persons), 0) from {}{}", "marts",
                                              "rpt_kecamatan_needs", where("kode_kecamatan = {}"))
    counts["participation"] = count("select count(*) from {}{}", prefix, "fct_programme_participation", where(
        "person_id in (select person_id from marts.dim_person where left(kode_kelurahan, 8) = {})"))
    return counts


def _check_kecamatan_scope(town) -> None:
    for short, kecamatan in (("kec_lowokwaru", LOWOKWARU), ("kec_blimbing", BLIMBING)):
        full = _kecamatan_counts(town, None, kecamatan)
        assert full["dim_person"] > 0 and full["fct_person_needs"] > 0
        assert _kecamatan_counts(town, short, None) == full, "the login's counts are its kecamatan's, all of them"
        places = _rows(town, short, "select distinct coalesce(left(kode_kelurahan, 8), 'none')"
                                    " from identified.dim_person")
        assert places == [(kecamatan,)], "no other kecamatan, no unknown kelurahan"
    unknown = _rows(town, None, "select count(*) from marts.dim_person where kode_kelurahan is null")[0][0]
    assert unknown == 1


def test_a_kecamatan_login_sees_all_of_its_kecamatan_and_nothing_else(town):
    _check_kecamatan_scope(town)
    # a view of its own (it may make temporary ones) does not get round the policy, nor does turning it off
    with _as(town, "kec_lowokwaru") as conn:
        conn.execute("create temporary view mine as select * from identified.dim_person")
        assert conn.execute("select count(distinct left(kode_kelurahan, 8)) from mine").fetchone() == (1,)
        conn.execute("set row_security = off")
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("select count(*) from marts.rpt_kelurahan_needs")
    # the assignment is in a table, not in the role: the login cannot widen it
    _denied(town, "kec_lowokwaru", sql.SQL("insert into access.kecamatan_assignment values (current_user, {})")
            .format(sql.Literal(BLIMBING)))
    _denied(town, "kec_lowokwaru", "select * from access.kecamatan_assignment")


@pytest.mark.parametrize("short, query", [
    # kecamatan staff: no table behind the logged views, no pseudonyms, no audit, no raw rows, no writes
    ("kec_lowokwaru", "select count(*) from marts.dim_person"),
    ("kec_lowokwaru", "select count(*) from marts_pseudo.dim_person"),
    ("kec_lowokwaru", "select count(*) from audit.access_log"),
    ("kec_lowokwaru", "select count(*) from raw.dinsos_dtks"),
    ("kec_lowokwaru", "update marts.rpt_kelurahan_needs set persons = 0"),
    ("kec_lowokwaru", "delete from identified.dim_person"),
    ("kec_lowokwaru", "alter table marts.dim_person disable row level security"),
    ("kec_lowokwaru", "create view public.bypass as select * from marts.rpt_kelurahan_needs"),
    # nor a partition of a large fact (row-level security is the partitioned table's)
    ("kec_lowokwaru", "select count(*) from marts.fct_person_needs__3573"),
    ("kec_lowokwaru", "select count(*) from marts.fct_programme_participation__default"),
    # analysts: identities only through the logged views; no raw rows, quarantine, audit, key or writes
    ("analyst", "select count(*) from marts.dim_person"),
    ("analyst", "select count(*) from marts.fct_person_needs"),
    ("analyst", "select count(*) from marts.fct_household_needs__3573"),
    ("analyst", "select count(*) from raw.dinsos_dtks"),
    ("analyst", "select count(*) from quarantine.row_error"),
    ("analyst", "select count(*) from audit.access_log"),
    ("analyst", "select count(*) from access.pseudonym_key"),
    ("analyst", "insert into marts.rpt_kecamatan_needs (rule_code) values ('X')"),
    ("analyst", "alter table marts.rpt_kelurahan_needs disable row level security"),
    ("analyst", "alter view identified.dim_person set (security_barrier = false)"),
    ("analyst", "drop view marts_pseudo.dim_person"),
    # auditors: counts and results, never identities or raw rows
    ("auditor", "select count(*) from quarantine.row_error"),
    ("auditor", "select count(*) from identified.dim_person"),
    ("auditor", "select count(*) from marts_pseudo.dim_person"),
    ("auditor", "select count(*) from marts.rpt_kelurahan_needs"),
    ("auditor", "select count(*) from raw.dinsos_dtks"),
    ("auditor", "delete from audit.access_log"),
    # the public: suppressed aggregates only
    ("public", "select count(*) from marts.rpt_kelurahan_needs"),
    ("public", "select count(*) from marts.dim_wilayah"),
    ("public", "select count(*) from audit.publish_event"),
    ("public", "select count(*) from marts_pseudo.fct_person_needs"),
    ("public", "select count(*) from marts.fct_person_needs__default"),
    # engineers run everything, but do not read the pseudonym key or switch the policies off
    ("engineer", "select * from access.pseudonym_key"),
    ("engineer", "alter table marts.dim_person no force row level security"),
    ("engineer", "drop policy area_scope on marts.dim_person"),
])
def test_each_role_is_denied_what_it_must_not_do(town, short, query):
    _denied(town, short, query)


def test_a_partition_is_no_way_round_row_level_security(town):
    """The large facts are partitioned by kab/kota; a query on a partition would not apply the partitioned
    table's policy. Readers get the table only, and each partition has the table's policy of its own."""
    partition = sql.Identifier("marts", "fct_person_needs__3573")
    total = _rows(town, None, sql.SQL("select count(*) from {}").format(partition))[0][0]
    own = _rows(town, None, "select count(*) from marts.fct_person_needs where left(kode_kelurahan, 8) = %s",
                (BLIMBING,))[0][0]
    assert 0 < own < total
    _denied(town, "kec_blimbing", sql.SQL("select count(*) from {}").format(partition))
    # through the table (its logged view), the partition's rows of the login's kecamatan, all of them
    assert _rows(town, "kec_blimbing", "select count(*) from identified.fct_person_needs"
                                       " where kode_kabkota = '35.73'") == [(own,)]
    # the unresolved resident's programmes (BPNT) are kept, in the default partition, seen by no kecamatan login
    unresolved = _rows(town, None, "select count(*) filter (where tableoid = 'marts.fct_programme_participation"
                                   "__default'::regclass), count(*) from marts.fct_programme_participation"
                                   " where kode_kabkota = 'TIDAK DIKETAHUI'")[0]
    assert unresolved[0] == unresolved[1] >= 1
    assert _rows(town, "analyst", "select count(*) from identified.fct_programme_participation"
                                  " where kode_kabkota = 'TIDAK DIKETAHUI'") == [(unresolved[1],)]
    assert _rows(town, "kec_lowokwaru", "select count(*) from identified.fct_programme_participation"
                                        " where kode_kabkota = 'TIDAK DIKETAHUI'") == [(0,)]
    # a mistaken grant on the partition: the partition's own policy still limits the login to its kecamatan
    login = sql.Identifier(town["login"]["kec_blimbing"])
    with warehouse.connect(town["url"]) as conn:
        conn.execute(sql.SQL("grant select on {} to {}").format(partition, login))
    try:
        assert _rows(town, "kec_blimbing", sql.SQL("select count(*) from {}").format(partition)) == [(own,)]
    finally:
        with warehouse.connect(town["url"]) as conn:
            conn.execute(sql.SQL("revoke select on {} from {}").format(partition, login))


def test_what_each_role_may_read(town):
    assert _rows(town, "analyst", "select count(*) from identified.dim_person") == \
        _rows(town, None, "select count(*) from marts.dim_person")
    assert _rows(town, "auditor", "select count(*) > 0 from audit.publish_event") == [(True,)]
    assert _rows(town, "auditor", "select count(*) from audit.quarantine_summary")[0][0] >= 0
    assert _rows(town, "engineer", "select count(*) > 0 from raw.dinsos_dtks") == [(True,)]
    assert _rows(town, "public", "select count(*) > 0 from marts_public.kelurahan_needs") == [(True,)]


def test_pseudonymised_views_have_no_identities_and_a_stable_keyed_hash(town):
    columns = {c for (c,) in _rows(town, None, "select column_name from information_schema.columns"
                                               " where table_schema = 'marts_pseudo'")}
    assert {"nik_pseudonym", "no_kk_pseudonym", "tahun_lahir", "kode_kelurahan"} <= columns
    assert not columns & {"nik", "no_kk", "nama", "nama_ibu_kandung", "alamat", "rt", "rw", "tanggal_lahir",
                          "iddtks", "record_key", "evidence_record_keys"}
    _denied(town, "analyst", "select nik from marts_pseudo.dim_person", errors.UndefinedColumn)
    identified = dict(_rows(town, None, "select person_id, nik from marts.dim_person where nik is not null"))
    pseudo = dict(_rows(town, "analyst", "select person_id, nik_pseudonym from marts_pseudo.dim_person"))
    assert pseudo.keys() == set(dict(_rows(town, None, "select person_id, 1 from marts.dim_person")))
    for person_id, nik in identified.items():
        assert pseudo[person_id] == hmac.new(KEY.encode(), nik.encode(), hashlib.sha256).hexdigest()
    years = _rows(town, "analyst", "select distinct tahun_lahir from marts_pseudo.dim_person order by 1")
    assert years == [(int(r["TANGGAL_LAHIR"][-4:]),) for r in sorted(
        {r["TANGGAL_LAHIR"][-4:]: r for r in _town_rows()}.values(), key=lambda r: r["TANGGAL_LAHIR"][-4:])]
    # a different key gives other pseudonyms; the configured one is stored back
    with warehouse.connect(town["url"]) as conn:
        assert access.set_pseudonym_key(conn, b"another key")
        other = dict(conn.execute("select person_id, nik_pseudonym from marts_pseudo.dim_person").fetchall())
        assert access.set_pseudonym_key(conn, KEY.encode())
    assert all(other[p] != pseudo[p] for p in identified)
    assert dict(_rows(town, "analyst", "select person_id, nik_pseudonym from marts_pseudo.dim_person")) == pseudo


def test_hmac_in_sql_is_rfc_2104(town):
    cases = [(b"key", b"The quick brown fox jumps over the lazy dog"), (b"k" * 64, b"3573051501800001"),
             (b"x" * 100, b""), (bytes(range(65)), "é".encode())]
    for key, msg in cases:
        got = _rows(town, None, "select access.hmac_sha256(%s, %s)", (key, msg))[0][0]
        assert bytes(got) == hmac.new(key, msg, hashlib.sha256).digest()


def test_public_aggregates_suppress_small_cells_also_against_differencing(town):
    cells = _rows(town, "public", "select kode_kecamatan, kode_kelurahan, rule_code, persons,"
                                  " case when rule_level = 'household' then households end, suppressed"
                                  " from marts_public.kelurahan_needs")
    totals = {(k, r): (p, s) for k, r, p, s in _rows(
        town, "public", "select kode_kecamatan, rule_code, persons, suppressed from marts_public.kecamatan_needs")}
    assert cells and totals
    assert not [c for c in cells if c[3] is not None and 0 < c[3] < 5], "no small cell is shown"
    assert not [c for c in cells if c[4] is not None and 0 < c[4] < 5]
    groups: dict = {}
    for kecamatan, _, rule, persons, _, suppressed in cells:
        groups.setdefault((kecamatan or "TIDAK DIKETAHUI", rule), []).append((persons, suppressed))
    for group, members in groups.items():
        hidden = [p for p, s in members if s]
        total, total_hidden = totals[group]
        if len(hidden) == 1:  # a single hidden cell is the total minus the others: only allowed if both hidden
            assert total_hidden, f"{group}: one suppressed cell and a public total"
        if not total_hidden and hidden:
            assert total - sum(p for p, s in members if not s) >= 5 or len(hidden) >= 2
    full = dict(_rows(town, None, "select kode_kelurahan, persons from marts.rpt_kelurahan_needs"
                                  " where rule_code = 'ANAK_TANPA_KIP'"))
    assert full["35.73.05.1002"] == 2 and full["35.73.05.1003"] == 12  # Merjosari, Tlogomas
    public = {k: (p, s) for _, k, r, p, _, s in cells if r == "ANAK_TANPA_KIP"}
    assert public["35.73.05.1002"] == (None, True)
    assert public["35.73.05.1003"] == (None, True), "its complement: else 14 - 12 gives Merjosari back"
    assert totals[(LOWOKWARU, "ANAK_TANPA_KIP")] == (14, False)
    assert public["35.73.01.1003"] == (6, False)  # Polowijen


def test_identified_reads_are_logged(town):
    before = _rows(town, None, "select coalesce(max(access_log_id), 0) from audit.access_log")[0][0]
    _rows(town, "analyst", "select count(*) from identified.dim_person")
    _rows(town, "analyst", "select nik from identified.fct_person_needs join identified.dim_person using (person_id)")
    _rows(town, "kec_blimbing", "select count(*) from identified.dim_household")
    _rows(town, "analyst", "select count(*) from marts_pseudo.dim_person")  # no identities: not logged
    _rows(town, "public", "select count(*) from marts_public.kelurahan_needs")
    log = _rows(town, None, "select login, relation from audit.access_log where access_log_id > %s", (before,))
    login = town["login"]
    assert sorted(log) == sorted([(login["analyst"], "marts.dim_person"), (login["analyst"], "marts.dim_person"),
                                  (login["analyst"], "marts.fct_person_needs"),
                                  (login["kec_blimbing"], "marts.dim_household")]), "one row per view per query"
    assert _rows(town, "auditor", "select count(*) from audit.access_log where access_log_id > %s and login = %s",
                 (before, login["kec_blimbing"])) == [(1,)], "auditors read the log"


def test_roles_and_policies_hold_after_another_build_and_publish_run_as_the_pipeline_role(town, monkeypatch):
    pseudo = dict(_rows(town, "analyst", "select person_id, nik_pseudonym from marts_pseudo.dim_person"))
    oid = _rows(town, None, "select 'marts.dim_person'::regclass::oid")[0][0]
    access.apply(town["url"], take_over_dbt_objects=True)  # once, by an admin, before the pipeline login runs
    # the whole build (linkage, dbt, the mart gate, publish, snapshots) as a login of lintas_pipeline, no superuser
    monkeypatch.setenv("WAREHOUSE_URL", _login_url(town, "pipeline"))
    settings.reload()
    with _as(town, "pipeline") as conn:
        assert conn.execute("select current_user, rolsuper from pg_roles where rolname = session_user"
                            ).fetchone() == ("lintas_pipeline", False)
    _build("run-2")
    monkeypatch.setenv("WAREHOUSE_URL", town["url"])
    settings.reload()
    assert publish.latest_published(town["url"])[1] == "run-2"
    assert _rows(town, None, "select 'marts.dim_person'::regclass::oid")[0][0] != oid, "a new version"
    _check_kecamatan_scope(town)
    _denied(town, "analyst", "select count(*) from marts.dim_person")
    _denied(town, "public", "select count(*) from marts.rpt_kelurahan_needs")
    _denied(town, "kec_lowokwaru", "select count(*) from marts_pseudo.dim_person")
    assert dict(_rows(town, "analyst", "select person_id, nik_pseudonym from marts_pseudo.dim_person")) == pseudo
    owners = _rows(town, None, "select distinct relowner::regrole::text, relrowsecurity, relforcerowsecurity"
                               " from pg_class where relnamespace = 'marts'::regnamespace and relkind = 'r'"
                               " and relname <> 'dim_wilayah'")
    assert owners == [("lintas_pipeline", True, True)]


@pytest.mark.embedded
def test_row_level_security_and_hmac_work_on_the_embedded_server_without_contrib(monkeypatch):
    """The embedded default (pgserver, PostgreSQL 16, no pgcrypto): the same policies and pseudonyms."""
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("LINTAS_PSEUDONYM_KEY", KEY)
    settings.reload()
    url = warehouse.prepare(warehouse.embedded_url(f"lintas_access_{uuid.uuid4().hex[:8]}"))
    people = [(1, "3573050101800001", "35.73.05.1003"), (2, "3573010101800002", "35.73.01.1003"),
              (3, "3573050101800003", None)]
    with warehouse.connect(url) as conn:
        assert {r[0] for r in conn.execute("select extname from pg_extension")} == {"plpgsql"}
        conn.execute("create schema marts")
        conn.execute("create table marts.dim_person (person_id bigint, nik text, nama text, tanggal_lahir date,"
                     " kode_kelurahan text)")
        for person_id, nik, kelurahan in people:
            conn.execute("insert into marts.dim_person values (%s, %s, 'NAMA', date '1980-01-01', %s)",
                         (person_id, nik, kelurahan))
    access.apply(url)
    login = f"t_{uuid.uuid4().hex[:8]}_kec"
    access.grant_login(login, "kecamatan", kecamatan=[LOWOKWARU], url=url)
    parts = urlsplit(url)
    as_login = urlunsplit(parts._replace(netloc=f"{login}@{parts.netloc.rsplit('@', 1)[-1]}"))
    try:
        with psycopg.connect(as_login) as conn:
            assert conn.execute("select person_id from identified.dim_person").fetchall() == [(1,)]
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("select * from marts.dim_person")
        with warehouse.connect(url) as conn:
            pseudo = dict(conn.execute("select person_id, nik_pseudonym from marts_pseudo.dim_person").fetchall())
            assert conn.execute("select relrowsecurity and relforcerowsecurity from pg_class"
                                " where oid = 'marts.dim_person'::regclass").fetchone() == (True,)
        assert pseudo == {p: hmac.new(KEY.encode(), nik.encode(), hashlib.sha256).hexdigest() for p, nik, _ in people}
    finally:
        access.revoke_login(login, url, drop=True)
        warehouse.drop_database(url)


def test_prepare_over_marts_published_by_an_older_version_keeps_roles_and_grants_nothing(warehouse_url):
    """An upgrade: marts published before the area marts had `as_of_date`. `lintas warehouse prepare` must not
    fail on them; their policies and views follow with the next publish, and until then analysts read nothing."""
    with warehouse.connect(warehouse_url) as conn:
        conn.execute("create schema marts")
        conn.execute("create table marts.rpt_kelurahan_needs (kode_kelurahan text, rule_code text, persons int)")
        conn.execute("create table marts.dim_person (person_id bigint, nik text, kode_kelurahan text)")
    warehouse.prepare(warehouse_url)
    with warehouse.connect(warehouse_url) as conn:
        roles = {r[0] for r in conn.execute("select rolname from pg_roles where rolname like 'lintas\\_%'")}
        readable = conn.execute(
            "select has_table_privilege('lintas_analyst', 'marts.dim_person', 'select'),"
            " has_table_privilege('lintas_public', 'marts.rpt_kelurahan_needs', 'select')").fetchone()
    assert {"lintas_pipeline", "lintas_analyst", "lintas_kecamatan", "lintas_public"} <= roles
    assert readable == (False, False)


def test_an_upgrade_renames_the_published_area_marts_and_their_access_follows(warehouse_url):
    """Migration 014: area marts published under their old mart_* names are renamed rpt_*, so the access rules of
    `prepare` find them before the next publish: the public keeps its suppressed counts, row security stays on."""
    columns = ("as_of_date date, kode_kelurahan text, nama_kelurahan text, kode_kecamatan text, nama_kecamatan text,"
               " rule_code text, rule_level text, rule_description text, acting_agency text, persons bigint,"
               " households bigint")
    with warehouse.connect(warehouse_url) as conn:
        conn.execute("delete from audit.schema_migration where name = '014_rpt_area_marts.sql'")
        conn.execute("create schema marts")
        for old in ("mart_kelurahan_needs", "mart_kecamatan_needs"):
            table = sql.Identifier("marts", old)
            conn.execute(sql.SQL("create table {} ({})").format(table, sql.SQL(columns)))
            conn.execute(sql.SQL("insert into {} values (current_date, '35.73.05.1003', 'Tlogomas', '35.73.05',"
                                 " 'Lowokwaru', 'ANAK_TANPA_KIP', 'person', 'anak', 'disdik', 7, 7)").format(table))
    assert warehouse.migrate(warehouse_url) == ["014_rpt_area_marts.sql"]
    warehouse.prepare(warehouse_url)
    with warehouse.connect(warehouse_url) as conn:
        tables = {r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'marts'")}
        secured = conn.execute("select bool_and(relrowsecurity and relforcerowsecurity) from pg_class"
                               " where relnamespace = 'marts'::regnamespace and relkind = 'r'").fetchone()[0]
        public = conn.execute("select persons from marts_public.kelurahan_needs").fetchall()
        readable = conn.execute(
            "select has_table_privilege('lintas_public', 'marts_public.kecamatan_needs', 'select'),"
            " has_table_privilege('lintas_kecamatan', 'marts.rpt_kelurahan_needs', 'select')").fetchone()
    assert tables == {"rpt_kelurahan_needs", "rpt_kecamatan_needs"}
    assert secured and public == [(7,)] and readable == (True, True)
