"""Dinas Sosial's view: monthly DTKS snapshots of poor households, with churn and clerical noise."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from lintas import region
from lintas.extract import dtks as dtks_contract
from lintas_sandbox.synth import noise, second
from lintas_sandbox.synth.population import REFERENCE_DATE, Household, Person, Population, load_kelurahan

HEADER = list(dtks_contract.COLUMNS)  # the contract's column order


def periods(last: str, count: int) -> list[str]:
    year, month = map(int, last.split("-"))
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return out[::-1]


def _household_months(pop: Population, hh_id: int, n: int) -> range:
    """Which of the n months a household is in the register (joins late / leaves early sometimes)."""
    rng = random.Random(f"{pop.seed}:dtks:hh:{hh_id}")
    hh = pop.households[hh_id]
    wrongly_in = pop.profile == second.NAME and second.register_case(pop.seed, hh_id, hh.desil)[0]
    # DTKS covers deciles 1-4; some poor families were never registered (exclusion errors are real)
    if (hh.desil > 4 and not wrongly_in) or rng.random() > 0.85:
        return range(0)
    start = 0 if rng.random() > 0.03 else rng.randrange(n)
    end = n if rng.random() > 0.03 else rng.randrange(start, n + 1)
    return range(start, end)


def render(pop: Population, out: Path, last_period: str = "2026-10", months: int = 2) -> dict[str, int]:
    """Write DTKS_<kode kab/kota>_<YYYYMM>.csv per month and kab/kota of the region (DTKS_3573_202610.csv for
    Kota Malang) into out/outbox/dinsos, truth into out/truth."""
    outbox = out / "outbox" / "dinsos"
    truth_dir = out / "truth"
    outbox.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    months_of = {hh.household_id: _household_months(pop, hh.household_id, months) for hh in pop.households}
    counts: dict[str, int] = {}
    truth: dict[str, int] = {}
    for index, period in enumerate(periods(last_period, months)):
        delimiter = ";" if index % 2 == 0 else "|"
        for kabkota in region.kabkota_codes():  # each kab/kota's Dinas Sosial delivers its own file
            path = outbox / f"DTKS_{kabkota.replace('.', '')}_{period.replace('-', '')}.csv"
            rows = 0
            with path.open("w", encoding="utf-8-sig" if index % 2 else "utf-8", newline="") as fh:
                writer = csv.writer(fh, delimiter=delimiter, lineterminator="\r\n")
                writer.writerow(HEADER)
                for hh in pop.households:
                    in_kabkota = hh.kelurahan.code.startswith(kabkota + ".")
                    if index not in months_of[hh.household_id] or not in_kabkota:
                        continue
                    hh_rng = random.Random(f"{pop.seed}:dtks:hhprog:{hh.household_id}")
                    has_child = any(pop.persons[p].relationship == "ANAK" for p in hh.members)
                    pkh = hh.desil <= 2 and has_child and hh_rng.random() < 0.7
                    bpnt = hh.desil <= 3 and hh_rng.random() < 0.75
                    pbi = hh.desil <= 4 and hh_rng.random() < 0.9
                    desil = str(hh.desil)
                    if pop.profile == second.NAME:
                        wrongly_in, paid_pkh, paid_bpnt, blank_desil = second.register_case(
                            pop.seed, hh.household_id, hh.desil)
                        pkh, bpnt = pkh or paid_pkh, bpnt or paid_bpnt
                        pbi = pbi and not second.without_pbi(pop.seed, hh.household_id)
                        desil = "" if blank_desil else desil
                    for pid in hh.members:
                        p = pop.persons[pid]
                        rng = random.Random(f"{pop.seed}:dtks:p:{pid}")
                        iddtks = f"DT{pop.seed % 100:02d}{pid:09d}"
                        truth[iddtks] = pid
                        birth = p.birth_date.strftime("%d-%m-%Y" if index % 2 == 0 else "%Y-%m-%d")
                        kel_name = p_kel = hh.kelurahan.name.upper()
                        if rng.random() < 0.08:
                            kel_name = p_kel.replace(" ", "").replace("-", " ")
                        row = [
                            iddtks, hh.no_kk, noise.noisy_nik(p.nik, hh.no_kk, rng),
                            noise.name_variant(p.name, p.sex, rng).upper(),
                            p.sex if rng.random() < 0.9 else ("LAKI-LAKI" if p.sex == "L" else "PEREMPUAN"),
                            p.birth_place, birth, p.relationship,
                            "" if rng.random() < 0.15 else p.mother_name.upper(),
                            noise.street_address(hh.street, hh.house_number, rng),
                            noise.rt_rw(hh.rt, rng), noise.rt_rw(hh.rw, rng), kel_name,
                            hh.kelurahan.kecamatan_name.upper(),
                            desil, *("YA" if flag else "TIDAK" for flag in (pkh, bpnt, pbi)), period,
                        ]
                        if pop.profile == second.NAME:
                            _second_habits(pop, p, hh, row, late_month=index < months - 1)
                        writer.writerow(row)
                        rows += 1
            counts[path.name] = rows
    with (truth_dir / "dinsos_dtks.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["iddtks", "person_id"])
        writer.writerows(sorted(truth.items()))
    return counts


def _second_habits(pop: Population, p: Person, hh: Household, row: list, *, late_month: bool) -> None:
    """The second profile's clerk: other typos, a No. KK as NIK, a remarried mother's name, an old address
    for someone who moved, a child's NIK not issued yet in the early months."""
    rng = second.rng_for(pop.seed, "dtks", p.person_id)
    row[2] = second.nik(row[2], p.nik, hh.no_kk, rng)
    if late_month and second.nik_issued_late(pop.seed, p.person_id, p.birth_date, REFERENCE_DATE):
        row[2] = ""
    row[3] = second.name(row[3], rng)
    row[8] = second.mother(row[8], rng)
    moved = second.moved_from(pop.seed, p.person_id, _kelurahan())
    if moved:  # the register was not updated: the address before the move
        kel, street, number, rt, rw = moved
        row[9:14] = [second.street_address(street, number, rt, rw, rng), f"{rt:03d}", f"{rw:03d}",
                     kel.name.upper(), kel.kecamatan_name.upper()]
    else:
        row[9] = second.street_address(hh.street, hh.house_number, hh.rt, hh.rw, rng)


_KELURAHAN: dict[tuple[str, ...], list] = {}


def _kelurahan() -> list:
    return _KELURAHAN.setdefault(region.kabkota_codes(), load_kelurahan())
