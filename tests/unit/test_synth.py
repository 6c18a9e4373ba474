import csv
import re
from collections import Counter

from lintas.extract import dtks as dtks_reader
from lintas_sandbox.synth import dtks, population


def test_population_is_seeded_and_niks_are_well_formed():
    a = population.generate("small", seed=3)
    b = population.generate("small", seed=3)
    assert [p.nik for p in a.persons] == [p.nik for p in b.persons]
    assert len({p.nik for p in a.persons}) == len(a.persons), "true NIKs are unique"
    for p in a.persons[:500]:
        assert re.fullmatch(r"\d{16}", p.nik)
        day = int(p.nik[6:8])
        assert (day > 40) == (p.sex == "P")
        assert (day - 40 if day > 40 else day) == p.birth_date.day
    assert population.generate("small", seed=4).persons[0].nik != a.persons[0].nik


def test_households_live_in_real_kelurahan():
    pop = population.generate("small", seed=1)
    codes = {k.code for k in population.load_kelurahan()}
    assert len(codes) == 57
    assert {hh.kelurahan.code for hh in pop.households} <= codes


def test_dtks_render_follows_the_contract_and_keeps_truth_apart(tmp_path):
    pop = population.generate("small", seed=2)
    counts = dtks.render(pop, tmp_path, last_period="2026-10", months=2)
    assert set(counts) == {"DTKS_3573_202609.csv", "DTKS_3573_202610.csv"}
    for name, rows in counts.items():
        delivery = dtks_reader.read(tmp_path / "outbox" / "dinsos" / name)
        assert len(delivery.rows) == rows and delivery.errors == []
    truth = list(csv.DictReader((tmp_path / "truth" / "dinsos_dtks.csv").open()))
    assert len(truth) >= max(counts.values())
    # noise exists: some recorded NIKs differ from the truth, but most match
    delivery = dtks_reader.read(tmp_path / "outbox" / "dinsos" / "DTKS_3573_202610.csv")
    true_nik = {t["iddtks"]: pop.persons[int(t["person_id"])].nik for t in truth}
    outcome = Counter(r[3] == true_nik[r[1]] for r in delivery.rows)
    assert 0.9 < outcome[True] / len(delivery.rows) < 0.995
