"""DTKS history when deliveries break: a quarantined row is a member delivered but unusable, not a member who left;
a month whose exits spike is held back by the mart gate; agencies' free text cannot smuggle a spreadsheet formula
into the marts.

One small register (40 members, ids ID000000..) delivered month by month through the real pipeline (extract,
raw gate, dbt build, mart gate, publish) into a real PostgreSQL.
"""

from __future__ import annotations

from datetime import date

import pytest

from lintas import pipeline, settings, warehouse
from lintas.load.raw import RunContext
from lintas.quality import gate
from tests.fixtures.dtks_files import member, write

FORMULA_NAME = '=HYPERLINK("http://x.example/","klik")'
# ID000001 (quarantined two months running) and ID000004 (truly gone) both hold PKH in desil 8: a need
# (BANSOS_DESIL_TINGGI) that must stay for the first and go for the second.
PKH_HIGH_DECILE = {"DESIL": "8", "PKH": "YA"}


FIRST = ["AGUS", "BUDI", "CITRA", "DEWI", "EKO", "FAJAR", "GITA", "HADI"]
LAST = ["SANTOSO", "LESTARI", "WIBOWO", "RAHAYU", "KURNIAWAN", "PERTIWI", "SAPUTRA", "HANDAYANI"]


def _person(i: int) -> dict[str, str]:
    """A name, mother, birth date and NIK of member i's own: no two members look alike to linkage."""
    born = date(1940 + i % 60, 1 + i % 12, 1 + i % 28)
    return {"NAMA": f"{FIRST[i % 8]} {LAST[i // 8 % 8]}",
            "NAMA_IBU_KANDUNG": f"{LAST[(3 * i) % 8]} {FIRST[(5 * i) % 8]}",
            "JENIS_KELAMIN": "L", "TANGGAL_LAHIR": born.strftime("%d-%m-%Y"),
            "NIK": f"357305{born:%d%m%y}{i + 1:04d}"}


def _member(i: int, period: str, **overrides) -> dict[str, str]:
    planted = {1: PKH_HIGH_DECILE, 4: PKH_HIGH_DECILE, 6: {"NAMA": FORMULA_NAME},
               7: {"NAMA_IBU_KANDUNG": "-", "ALAMAT": "+62 JL. MAWAR"}}.get(i, {})
    return member(i, period, **{**_person(i), **planted, **overrides})


def _deliver(outbox, period: str, rows: list[dict[str, str]], run_id: str) -> dict:
    write(outbox, f"DTKS_3573_{period.replace('-', '')}.csv", rows)
    ctx = RunContext("test_dag", run_id)
    return pipeline.gate_source("dinsos_dtks", pipeline.extract_files("dinsos_dtks", ctx), ctx)


def _rows(url: str, query: str, params=()) -> list[tuple]:
    with warehouse.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _needs_by_iddtks(url: str) -> set[tuple[str, str]]:
    return set(_rows(url, """
        select distinct history.iddtks, needs.rule_code
        from marts.fct_person_needs as needs
        inner join marts.dim_dtks_member_history as history on needs.person_id = history.person_id
        where history.iddtks in ('ID000001', 'ID000004')"""))


@pytest.fixture(scope="module")
def register(postgres_server_url, template_database, tmp_path_factory):
    """July: the whole register. August and September: rows quarantined for every reason the extractor has.
    October: a spike of exits. Yields (url, needs after July, build outcomes)."""
    from tests.conftest import fresh_database

    outbox = tmp_path_factory.mktemp("register") / "outbox" / "dinsos"
    outbox.mkdir(parents=True)
    url = fresh_database(postgres_server_url, template_database)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAREHOUSE_URL", url)
        env.setenv("LINTAS_OUTBOX_DINSOS", str(outbox))
        settings.reload()
        _deliver(outbox, "2026-07", [_member(i, "2026-07") for i in range(40)], "run-jul")
        pipeline.build_warehouse(RunContext("test_dag", "run-build-jul"))
        needs_in_july = _needs_by_iddtks(url)

        august = [_member(i, "2026-08") for i in range(40) if i not in (1, 2, 4)]
        august += [
            _member(1, "2026-08", PERIODE="2026-07"),  # wrong PERIODE: quarantined, IDDTKS readable
            _member(2, "2026-08", ALAMAT="JL. TLOGOMAS; NO. 2"),  # a stray delimiter: wrong field count
            _member(3, "2026-08", NAMA="WARGA NOMOR 3 (SALINAN)"),  # repeated IDDTKS: quarantined
        ]  # ID000004 is not delivered: it left
        september = [_member(i, "2026-09") for i in range(40) if i not in (1, 4, 5)]
        september += [
            _member(1, "2026-09", PERIODE="2026-08"),  # quarantined again
            _member(99, "2026-09", ALAMAT="JL. BARU; NO. 99"),  # wrong field count, a member never seen: unidentified
        ]  # ID000005 is not delivered: it left, but the unidentified row could be them
        for period, rows in (("2026-08", august), ("2026-09", september)):
            outcome = _deliver(outbox, period, rows, f"run-{period}")
            assert outcome["rejected"] == [] and len(outcome["accepted"]) == 1
        built = pipeline.build_warehouse(RunContext("test_dag", "run-build-sep"))
        assert built["publish"]["published"], "the quarantine months pass the mart gate"
        published_before_spike = _rows(url, "select * from marts.fct_dtks_register_events order by 1")

        # October: 12 members leave and 12 join, so the register does not shrink (the raw gate lets it through)
        october = [_member(i, "2026-10") for i in range(40) if i not in (1, 4, 5) and not 20 <= i < 32]
        october += [_member(i, "2026-10") for i in (1, 5, *range(50, 62))]
        outcome = _deliver(outbox, "2026-10", october, "run-oct")
        assert outcome["rejected"] == [] and len(outcome["accepted"]) == 1
        with pytest.raises(pipeline.PipelineFailed) as spike:
            pipeline.build_warehouse(RunContext("test_dag", "run-build-oct"))
        yield url, needs_in_july, published_before_spike, str(spike.value)
    warehouse.drop_database(url)


def test_quarantined_members_do_not_leave_the_register(register):
    url, needs_in_july, published_before_spike, _ = register
    reasons = dict(_rows(url, "select record_key, rule from quarantine.row_error where record_key is not null"))
    assert reasons == {"ID000001": "matches_file_period", "ID000003": "unique_in_file"}
    events = _rows(url, "select iddtks, event_type, periode, is_uncertain, members_previous_month"
                        " from marts.fct_dtks_register_events order by periode, iddtks")
    assert events == [
        ("ID000004", "keluar", "2026-08", False, 40),  # truly absent, no doubt
        ("ID000005", "keluar", "2026-09", True, 39),  # truly absent, but September has an unidentified row
    ]

    history = {r[0]: r[1:] for r in _rows(url, """
        select iddtks, valid_from::text, valid_to::text, is_current, carried_forward_months, is_carried_forward
        from marts.dim_dtks_member_history where iddtks in ('ID000001', 'ID000002', 'ID000003', 'ID000004')""")}
    assert history == {
        "ID000001": ("2026-07-01", None, True, 2, True),  # quarantined twice: one unbroken spell, flagged
        "ID000002": ("2026-07-01", None, True, 1, False),  # known by its IDDTKS among the fields of a broken row
        "ID000003": ("2026-07-01", None, True, 0, False),  # its first row was usable
        "ID000004": ("2026-07-01", "2026-08-01", False, 0, False),
    }
    assert _rows(url, "select count(*) from marts.dim_dtks_member_history") == [(40,)], "no spell was split"

    # needs: the quarantined member keeps theirs, the member who left loses theirs
    assert needs_in_july == {("ID000001", "BANSOS_DESIL_TINGGI"), ("ID000004", "BANSOS_DESIL_TINGGI")}
    assert _needs_by_iddtks(url) == {("ID000001", "BANSOS_DESIL_TINGGI")}
    assert published_before_spike, "the events above were published before October"


def test_a_spike_of_exits_is_held_back(register):
    url, _, published_before_spike, message = register
    assert "marts held back" in message
    assert "gate marts_fct_dtks_register_events: FAILED" in message
    assert "register exits of the latest month at most 3x the median" in message
    assert _rows(url, "select * from marts.fct_dtks_register_events order by 1") == published_before_spike, \
        "analysts keep the last good version"
    assert _rows(url, "select outcome from audit.publish_event where airflow_run_id = 'run-build-oct'") == [
        ("held_back",)]
    # only the churn check failed: the October snapshot is otherwise a good one
    failed = _rows(url, "select suite, description from audit.gate_result where airflow_run_id = 'run-build-oct'"
                        " and batch_id is null and not success")
    assert failed == [("marts_fct_dtks_register_events",
                       "register exits of the latest month at most 3x the median of the previous six months"
                       " (or 2% of the register, or 10); with under 3 months of history at most 10% of the register"
                       " (or 10)")]


def test_formula_like_names_reach_the_marts_neutralised(register):
    url = register[0]
    people = dict(_rows(url, """
        select history.iddtks, array[person.nama, person.nama_ibu_kandung, person.alamat]
        from marts.dim_person as person
        inner join marts.dim_dtks_member_history as history on person.person_id = history.person_id
        where history.iddtks in ('ID000006', 'ID000007')"""))
    assert people["ID000006"][0] == "'" + FORMULA_NAME
    assert people["ID000007"] == [_person(7)["NAMA"], "-", "'+62 JL. MAWAR"]  # a lone "-" is a blank, not a formula
    # raw keeps what the agency delivered
    assert _rows(url, "select distinct nama from raw.dinsos_dtks where iddtks = 'ID000006'") == [(FORMULA_NAME,)]


def _churn_gate(url: str, exits_by_month: list[int], members: int) -> bool:
    """Run the events suite on a hand-made events table: city-sized register, given exits per month."""
    with warehouse.connect(url) as conn:
        conn.execute("create schema if not exists scratch")
        conn.execute("drop table if exists scratch.events")
        conn.execute("""
            create table scratch.events as
            select md5(m.month || '|' || n) as register_event_key, 'keluar' as event_type,
                   to_char(date '2026-01-01' + make_interval(months => m.month::int), 'YYYY-MM') as periode,
                   %s::bigint as members_previous_month
            from unnest(%s::int[]) with ordinality as m (exits, month), generate_series(1, m.exits) as n""",
                     (members, exits_by_month))
    checkpoint = gate.Checkpoint(name="marts_fct_dtks_register_events", suite="marts_fct_dtks_register_events",
                                 relation="scratch.events")
    return gate.run_checkpoint(checkpoint, None, url=url, update_data_docs=False).passed


def test_the_churn_check_is_relative_to_the_usual_months(warehouse_url):
    steady = [900, 1100, 1000, 950, 1050, 1000]  # a city register of 185,000, ~0.5% leaving each month
    assert _churn_gate(warehouse_url, [*steady, 2900], 185_000)  # below 3x the median (3,000) and 2% (3,700)
    assert _churn_gate(warehouse_url, [*steady, 3600], 185_000)  # above 3x the median, below 2% of the register
    assert not _churn_gate(warehouse_url, [*steady, 3800], 185_000)
    assert not _churn_gate(warehouse_url, [4000, 4000, 4000, 4000, 4000, 4000, 12_100], 185_000)  # 3x of 4,000
    assert _churn_gate(warehouse_url, [4000, 4000, 4000, 4000, 4000, 4000, 11_900], 185_000)
    # under three earlier months there is no baseline: at most 10% of the register (the raw gate's shrink bound)
    assert _churn_gate(warehouse_url, [18_000], 185_000), "the first month with exits"
    assert not _churn_gate(warehouse_url, [19_000], 185_000)
    assert _churn_gate(warehouse_url, [1000, 1000, 3800], 185_000), "two earlier months are no baseline yet"
