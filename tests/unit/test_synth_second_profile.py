"""The second noise profile: the same residents, other clerks' habits, deliveries that still meet the contract."""

import csv
import json
from collections import Counter

import openpyxl
import pytest

from lintas.extract import dtks as dtks_reader
from lintas.extract import umkm as umkm_reader
from lintas.identity.address import region_key
from lintas_sandbox.synth import dapodik, dtks, izin, population, umkm

SEED = 7


@pytest.fixture(scope="module")
def pops():
    return population.generate("small", SEED), population.generate("small", SEED, "second")


@pytest.fixture(scope="module")
def rendered(pops, tmp_path_factory):
    out = {}
    for pop in pops:
        path = tmp_path_factory.mktemp(pop.profile)
        dtks.render(pop, path, months=2)
        dapodik.render(pop, path)
        umkm.render(pop, path)
        izin.render(pop, None, path)
        out[pop.profile] = path
    return out


def _dtks(path, month="202610"):
    return list(csv.DictReader((path / "outbox" / "dinsos" / f"DTKS_3573_{month}.csv").open(encoding="utf-8-sig"),
                               delimiter="|" if month == "202610" else ";"))


def test_the_profile_changes_the_deliveries_not_the_residents(pops):
    default, second = pops
    assert [p.nik for p in default.persons] == [p.nik for p in second.persons]
    assert (default.profile, second.profile) == ("default", "second")
    with pytest.raises(ValueError, match="profile must be one of"):
        population.generate("small", SEED, "third")


def test_second_profile_deliveries_meet_the_contracts(rendered):
    path = rendered["second"]
    for name in ("DTKS_3573_202609.csv", "DTKS_3573_202610.csv"):
        assert dtks_reader.read(path / "outbox" / "dinsos" / name).errors == []
    for book in (path / "outbox" / "diskopindag").glob("*.xlsx"):
        assert umkm_reader.read(book).errors == []


def test_second_profile_has_its_own_address_and_nik_habits(pops, rendered):
    default, second = (_dtks(rendered[name]) for name in ("default", "second"))
    for rows, expect_gang in ((default, False), (second, True)):
        assert any(" GG. " in r["ALAMAT"] for r in rows) is expect_gang
        assert any("RT " in r["ALAMAT"] and "/RW " in r["ALAMAT"] for r in rows) is expect_gang
    as_card = [sum(r["NIK"] == r["NO_KK"] for r in rows) / len(rows) for rows in (default, second)]
    assert as_card[1] > as_card[0] * 1.5, "the No. KK typed as NIK more often"
    # workbooks: NIKs as number cells more often, some typed with 15 digits
    kinds = {}
    for name, path in rendered.items():
        cells = Counter()
        for book in (path / "outbox" / "diskopindag").glob("*.xlsx"):
            for ws in openpyxl.load_workbook(book).worksheets:
                for (value,) in ws.iter_rows(min_col=3, max_col=3, values_only=True):
                    if isinstance(value, int) and value > 10**13:
                        cells[len(str(value))] += 1
                    elif isinstance(value, str) and value.strip("'").isdigit():
                        cells["text"] += 1
        kinds[name] = cells
    share = {n: (c[15] + c[16]) / (c[15] + c[16] + c["text"]) for n, c in kinds.items()}
    assert share["second"] > share["default"] + 0.1 and kinds["second"][15] > 0 and kinds["default"][15] == 0


def test_second_profile_register_makes_every_need_rule_fire(pops, rendered):
    default, second = pops
    rows = _dtks(rendered["second"])
    assert any(r["DESIL"] == "" for r in rows), "a blank desil"
    assert any(r["DESIL"] and int(r["DESIL"]) >= 6 and "YA" in (r["PKH"], r["BPNT"]) for r in rows)
    assert any(r["DESIL"] and int(r["DESIL"]) <= 4 and r["PBI_JK"] == "TIDAK" for r in rows)
    # a child whose NIK was issued late: blank in September, present in October
    september = {r["IDDTKS"]: r["NIK"] for r in _dtks(rendered["second"], "202609")}
    assert any(september.get(r["IDDTKS"]) == "" and r["NIK"] and r["HUBUNGAN_KELUARGA"] == "ANAK" for r in rows)
    # someone who moved: the register still has a kelurahan other than the family's
    truth = {t["iddtks"]: int(t["person_id"]) for t in csv.DictReader(
        (rendered["second"] / "truth" / "dinsos_dtks.csv").open())}
    def home_of(row):
        return second.household_of(second.persons[truth[row["IDDTKS"]]]).kelurahan.name

    moved = [r for r in rows if region_key(r["KELURAHAN"]) != region_key(home_of(r))]
    assert moved


def test_second_profile_school_records_carry_mothers_with_a_husbands_name(pops, rendered):
    _, second = pops
    records = [json.loads(line) for line in
               (rendered["second"] / "sources" / "dapodik" / "peserta_didik.jsonl").open(encoding="utf-8")]
    truth = dict(csv.reader((rendered["second"] / "truth" / "disdik_peserta_didik.csv").open()))
    longer = [r for r in records if r["nama_ibu_kandung"] and len(r["nama_ibu_kandung"].split()) > len(
        second.persons[int(truth[r["peserta_didik_id"]])].mother_name.split())]
    assert longer, "a remarried or widowed mother recorded with a husband's name after hers"
