"""Dinas Pendidikan's view: Dapodik student records (peserta didik) with KIP/PIP, as its API serves them.

Schools sync their Dapodik data in batches, so many records share one `updated_at` (to the second). Madrasah
pupils are registered with Kemenag (EMIS), not Dapodik, and PAUD attendance is far from universal: that is why
only about 60% of the city's 4-18 year olds appear here.
"""

from __future__ import annotations

import csv
import json
import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from lintas_sandbox.synth import names, noise, second
from lintas_sandbox.synth.population import REFERENCE_DATE, Kelurahan, Person, Population, load_kelurahan

# Share of each age band found in Dapodik (the rest: madrasah under Kemenag, not in PAUD, out of school).
JENJANG_AGES = (("PAUD", 4, 6, 0.30), ("SD", 7, 12, 0.72), ("SMP", 13, 15, 0.70), ("SMA", 16, 18, 0.62))
FIRST_GRADE = {"PAUD": 0, "SD": 1, "SMP": 7, "SMA": 10, "SMK": 10}  # tingkat_kelas at the band's first age
FIRST_AGE = {"PAUD": 4, "SD": 7, "SMP": 13, "SMA": 16, "SMK": 16}
WINDOW_START = datetime(2026, 7, 1, 7, 0, 0)  # the 2026/2027 school year's data collection
WINDOW_END = datetime(REFERENCE_DATE.year, REFERENCE_DATE.month, REFERENCE_DATE.day, 16, 0, 0)
TIMEZONE = "+07:00"
# Nightly central jobs (NIK verification against Dukcapil, PIP decrees) touch many records at one instant.
CENTRAL_BATCHES = (datetime(2026, 8, 20, 1, 30, 0), datetime(2026, 9, 14, 8, 15, 0), datetime(2026, 10, 5, 23, 0, 0))
KIP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

FIELDS = (
    "peserta_didik_id", "nisn", "nik", "no_kk", "nama", "jenis_kelamin", "tempat_lahir", "tanggal_lahir",
    "nama_ibu_kandung", "alamat_jalan", "rt", "rw", "kelurahan", "kecamatan", "npsn", "nama_sekolah", "jenjang",
    "tingkat_kelas", "penerima_kip", "no_kip", "layak_pip", "updated_at", "deleted",
)


@dataclass(frozen=True, slots=True)
class School:
    npsn: str  # 8 digits
    name: str
    jenjang: str
    kecamatan: str
    syncs: tuple[datetime, ...]  # when the school's operator synced Dapodik this term


_PAUD_FOUNDERS = ("TK DHARMA WANITA", "TK AISYIYAH BUSTANUL ATHFAL", "TK MUSLIMAT NU", "KB PERMATA HATI",
                  "TK KARTIKA", "KB AL HIKMAH", "TK ISLAM", "TK KRISTEN", "TK PERTIWI", "KB TUNAS BANGSA")
_SD_PRIVATE = ("SD ISLAM", "SD MUHAMMADIYAH", "SD KATOLIK", "SD KRISTEN", "SD ISLAM TERPADU", "SD PLUS")
_SMP_PRIVATE = ("SMP ISLAM", "SMP MUHAMMADIYAH", "SMP KATOLIK SANTA MARIA", "SMP KRISTEN", "SMP PGRI",
                "SMP TAMAN SISWA", "SMP WAHID HASYIM", "SMP ARJUNA")
_SMA_PRIVATE = ("SMA ISLAM", "SMA MUHAMMADIYAH", "SMA KATOLIK", "SMA KRISTEN", "SMA PGRI", "SMA SHALAHUDDIN")
_SMK_PRIVATE = ("SMK PGRI", "SMK MUHAMMADIYAH", "SMK TELKOM", "SMK WISNUWARDHANA", "SMK KARTANEGARA",
                "SMK ARDJUNA", "SMK NASIONAL", "SMK ISLAM")
_SD_NAMES = ("AL IRSYAD", "SABILILLAH", "AN NUR", "HIDAYATULLAH", "CORJESU", "SANTA MARIA", "KRISTUS RAJA",
             "ANAK SALEH", "BAITURRAHMAN", "MOHAMMAD HATTA", "INSAN AMANAH", "ASY SYAFI'IYAH", "TUNAS HARAPAN")


def _sync_times(rng: random.Random) -> tuple[datetime, ...]:
    span = int((WINDOW_END - WINDOW_START).total_seconds() // 86400)
    out = set()
    for _ in range(rng.randint(2, 6)):
        day = WINDOW_START.date() + timedelta(days=rng.randrange(span + 1))
        moment = datetime(day.year, day.month, day.day, rng.randint(7, 20), rng.randrange(60), rng.randrange(60))
        out.add(min(moment, WINDOW_END))
    return tuple(sorted(out))


def schools(pop: Population) -> dict[tuple[str, str], list[School]]:
    """The city's schools by (kecamatan name, jenjang), deterministic for the seed. SD are named after their
    kelurahan (SD NEGERI KLOJEN 3), state SMP/SMA/SMK are numbered city-wide (SMP NEGERI 5 MALANG)."""
    rng = random.Random(f"{pop.seed}:dapodik:schools")
    kelurahan = load_kelurahan()
    kecamatan = sorted({k.kecamatan_name for k in kelurahan})
    used: set[str] = set()

    def npsn(prefix: str) -> str:
        while True:
            value = f"{prefix}{rng.randrange(10_000):04d}"
            if value not in used:
                used.add(value)
                return value

    plan: list[tuple[str, str, str]] = []  # (jenjang, name, kecamatan)
    for kel in kelurahan:
        kel_name = kel.name.upper()
        for i in range(1, rng.randint(2, 6)):
            plan.append(("SD", rng.choice([f"SD NEGERI {kel_name} {i}", f"SDN {kel_name} {i}"]), kel.kecamatan_name))
        for _ in range(rng.randint(3, 7)):
            founder = rng.choice(_PAUD_FOUNDERS)
            plan.append(("PAUD", f"{founder} {rng.choice([kel_name, str(rng.randint(1, 40))])}", kel.kecamatan_name))
    for jenjang, state, private, per_kec in (("SMP", 27, _SMP_PRIVATE, 5), ("SMA", 10, _SMA_PRIVATE, 3),
                                             ("SMK", 13, _SMK_PRIVATE, 4)):
        for i in range(1, state + 1):
            plan.append((jenjang, f"{jenjang} NEGERI {i} MALANG", kecamatan[(i * 3) % len(kecamatan)]))
        for kec in kecamatan:
            for founder in rng.sample(private, per_kec):
                name = f"{founder} {rng.randint(1, 9)} MALANG" if rng.random() < 0.5 else f"{founder} MALANG"
                if jenjang == "SMK" and rng.random() < 0.3:
                    name = name.replace("SMK ", "SMK SWASTA ", 1)
                plan.append((jenjang, name, kec))
    for kec in kecamatan:
        for founder in rng.sample(_SD_PRIVATE, 4):
            plan.append(("SD", f"{founder} {rng.choice(_SD_NAMES)}", kec))

    by_key: dict[tuple[str, str], list[School]] = {}
    seen_names: set[str] = set()
    for jenjang, name, kec in plan:
        if name in seen_names:
            continue
        seen_names.add(name)
        school = School(npsn("6972" if jenjang == "PAUD" else "2053"), name, jenjang, kec, _sync_times(rng))
        by_key.setdefault((kec, jenjang), []).append(school)
    return by_key


def _age(person: Person) -> int:
    b = person.birth_date
    return REFERENCE_DATE.year - b.year - ((REFERENCE_DATE.month, REFERENCE_DATE.day) < (b.month, b.day))


def _jenjang(age: int) -> tuple[str, float] | None:
    for jenjang, low, high, share in JENJANG_AGES:
        if low <= age <= high:
            return jenjang, share
    return None


def _kelurahan_spelling(name: str, rng: random.Random) -> str:
    """Dapodik operators type the kelurahan as DTKS clerks do: mostly the official name, sometimes run together."""
    upper = name.upper()
    if rng.random() < 0.08:
        return upper.replace(" ", "").replace("-", " ")
    if rng.random() < 0.04:
        return f"KEL. {upper}"
    return upper


_TITLES = {*names.TITLE_PREFIX_MALE, *names.TITLE_PREFIX_FEMALE, *names.TITLE_SUFFIX}


def _child_name(person: Person, rng: random.Random) -> str:
    """A name variant without the adult titles (H., Hj., S.Pd.) that name_variant may add."""
    variant = noise.name_variant(person.name, person.sex, rng)
    if any(t in _TITLES for t in variant.replace(",", " ").split()):
        variant = person.name
    return variant.upper()


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + TIMEZONE


def _nisn(person: Person, rng: random.Random, used: set[str]) -> str:
    """NISN: the last three digits of the birth year, then seven digits."""
    while True:
        value = f"{person.birth_date.year % 1000:03d}{rng.randrange(10_000_000):07d}"
        if value not in used:
            used.add(value)
            return value


def records(pop: Population) -> list[dict]:
    """One record per student in Dapodik (contract fields only), in person order."""
    return [record for record, _ in _records_with_truth(pop)]


def _records_with_truth(pop: Population) -> list[tuple[dict, int]]:
    """(record, true person id) per student."""
    by_key = schools(pop)
    kelurahan: list[Kelurahan] = load_kelurahan()
    kecamatan = sorted({k.kecamatan_name for k in kelurahan})
    pick = random.Random(f"{pop.seed}:dapodik:enrolled")
    used_nisn: set[str] = set()
    out = []
    for p in pop.persons:
        age = _age(p)
        band = _jenjang(age)
        if band is None:
            continue
        jenjang, share = band
        if pick.random() >= share:
            continue
        rng = random.Random(f"{pop.seed}:dapodik:p:{p.person_id}")
        hh = pop.households[p.household_id]
        if jenjang == "SMA" and rng.random() < 0.45:
            jenjang = "SMK"
        grade = 0 if jenjang == "PAUD" else FIRST_GRADE[jenjang] + age - FIRST_AGE[jenjang]
        if jenjang != "PAUD" and grade > FIRST_GRADE[jenjang] and rng.random() < 0.04:
            grade -= 1  # repeating a year
        kec = hh.kelurahan.kecamatan_name if rng.random() < 0.82 else rng.choice(kecamatan)
        options = by_key.get((kec, jenjang)) or [s for (_, j), group in by_key.items() if j == jenjang
                                                 for s in group]
        school = rng.choice(options)
        r = rng.random()
        if r < 0.12:
            updated = rng.choice(CENTRAL_BATCHES)
        elif r < 0.93:  # the school's operator synced: the latest sync carries most records
            updated = rng.choices(school.syncs, weights=range(1, len(school.syncs) + 1))[0]
        else:  # edited on its own
            updated = WINDOW_START + timedelta(seconds=rng.randrange(int((WINDOW_END - WINDOW_START).total_seconds())))

        kel, street, number, rt, rw = hh.kelurahan, hh.street, hh.house_number, hh.rt, hh.rw
        if rng.random() < 0.03:  # moved: Dapodik has a newer address than the family card
            kel = rng.choice([k for k in kelurahan if k.code != hh.kelurahan.code])
            street, number = rng.choice(names.STREETS), rng.randint(1, 250)
            rt, rw = rng.randint(1, 15), rng.randint(1, 12)

        poor = hh.desil <= 4
        kip = jenjang != "PAUD" and rng.random() < (0.60 if poor else 0.02)
        if jenjang == "PAUD":
            pip = False
        else:
            pip = rng.random() < (0.95 if kip else 0.35 if poor else 0.01)
        if (kip or pip) and rng.random() < 0.6:  # the PIP decree import set the flags
            updated = CENTRAL_BATCHES[1]
        no_kip = None
        if kip and rng.random() < 0.95:
            no_kip = "".join(rng.choice(KIP_ALPHABET) for _ in range(6))

        nik = "" if rng.random() < 0.03 else noise.noisy_nik(p.nik, hh.no_kk, rng)
        no_kk = hh.no_kk
        r = rng.random()
        if r < 0.04:
            no_kk = ""
        elif r < 0.05:
            no_kk = noise.nik_typo(no_kk, rng)
        birth = p.birth_date
        if birth.day <= 12 and birth.day != birth.month and rng.random() < 0.01:
            birth = date(birth.year, birth.day, birth.month)  # day and month swapped at data entry
        birth_place = p.birth_place
        if birth_place == "MALANG" and rng.random() < 0.15:
            birth_place = "KOTA MALANG"
        mother = "" if rng.random() < 0.07 else noise.name_variant(p.mother_name, "P", rng).upper()

        out.append(({
            "peserta_didik_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "nisn": _nisn(p, rng, used_nisn),
            "nik": nik,
            "no_kk": no_kk,
            "nama": _child_name(p, rng),
            "jenis_kelamin": p.sex if rng.random() < 0.93 else ("LAKI-LAKI" if p.sex == "L" else "PEREMPUAN"),
            "tempat_lahir": birth_place,
            "tanggal_lahir": birth.isoformat(),
            "nama_ibu_kandung": mother,
            "alamat_jalan": noise.street_address(street, number, rng),
            "rt": noise.rt_rw(rt, rng),
            "rw": noise.rt_rw(rw, rng),
            "kelurahan": _kelurahan_spelling(kel.name, rng),
            "kecamatan": kel.kecamatan_name.upper(),
            "npsn": school.npsn,
            "nama_sekolah": school.name,
            "jenjang": jenjang,
            "tingkat_kelas": grade,
            "penerima_kip": kip,
            "no_kip": no_kip,
            "layak_pip": pip,
            "updated_at": _stamp(updated),
            "deleted": rng.random() < 0.02,
        }, p.person_id))
        if pop.profile == second.NAME:
            _second_habits(pop.seed, out[-1][0], p, hh, (street, number, rt, rw))
    return out


def _second_habits(seed: int, record: dict, p: Person, hh, address: tuple) -> None:
    """The second profile's school operator: other typos, a No. KK as NIK (this record often has no No. KK to
    compare with), a remarried mother's name, 'JLN' / 'GG.' / RT-RW inside the street line."""
    rng = second.rng_for(seed, "dapodik", p.person_id)
    if record["nik"]:
        record["nik"] = second.nik(record["nik"], p.nik, hh.no_kk, rng)
    if record["nik"] == hh.no_kk and rng.random() < 0.5:
        record["no_kk"] = ""  # the card number went into the wrong field and its own was left blank
    record["nama"] = second.name(record["nama"], rng)
    record["nama_ibu_kandung"] = second.mother(record["nama_ibu_kandung"], rng)
    record["alamat_jalan"] = second.street_address(*address, rng)


def render(pop: Population, out: Path) -> dict[str, int]:
    """Write the API's data as JSONL into out/sources/dapodik (sorted by updated_at, id) and the truth apart."""
    data_dir = out / "sources" / "dapodik"
    truth_dir = out / "truth"
    data_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    rows = _records_with_truth(pop)
    rows.sort(key=lambda item: (item[0]["updated_at"], item[0]["peserta_didik_id"]))
    with (data_dir / "peserta_didik.jsonl").open("w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record, _ in rows)
    with (truth_dir / "disdik_peserta_didik.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["peserta_didik_id", "person_id"])
        writer.writerows((record["peserta_didik_id"], person_id) for record, person_id in rows)
    return {"peserta_didik.jsonl": len(rows)}
