"""The hidden truth: persons, families (Kartu Keluarga) and addresses in the configured region's kelurahan and desa
(LINTAS_REGION_CODES through lintas.region; by default Kota Malang's 57 kelurahan)."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from lintas import region, settings
from lintas_sandbox.synth import names, second

CITY_RESIDENTS = 889_359  # Kepmendagri 2025, Kota Malang
# fractions of the region's population: small is 6,000 residents for Kota Malang (and proportionally more for a
# larger region); city is everyone
SCALES = {"small": 6_000 / CITY_RESIDENTS, "city": 1.0}
REFERENCE_DATE = date(2026, 10, 31)


def scale_factor(scale: str) -> float:
    """`small`, `city`, or a multiplier of city scale such as `5` or `0.1`."""
    if scale in SCALES:
        return SCALES[scale]
    try:
        factor = float(scale)
    except ValueError:
        raise ValueError(f"scale must be one of {sorted(SCALES)} or a number, got {scale!r}") from None
    if factor <= 0:
        raise ValueError("scale multiplier must be positive")
    return factor


@dataclass(slots=True)
class Kelurahan:
    code: str  # 35.73.01.1001
    name: str
    kecamatan_code: str
    kecamatan_name: str


@dataclass(slots=True)
class Household:
    household_id: int
    no_kk: str
    kelurahan: Kelurahan
    street: str
    house_number: int
    rt: int
    rw: int
    desil: int
    members: list[int] = field(default_factory=list)  # person ids, head first


@dataclass(slots=True)
class Person:
    person_id: int
    nik: str
    name: str
    sex: str  # L / P
    birth_date: date
    birth_place: str
    mother_name: str
    household_id: int
    relationship: str


@dataclass
class Population:
    seed: int
    persons: list[Person]
    households: list[Household]
    profile: str = "default"  # noise profile of the deliveries: "default" or "second" (synth/second.py)

    def household_of(self, person: Person) -> Household:
        return self.households[person.household_id]


def load_kelurahan() -> list[Kelurahan]:
    """The region's kelurahan and desa (lintas.region), in code order."""
    kecamatan = {w.kode: w.nama for w in region.kecamatan()}
    return [Kelurahan(w.kode, w.nama, w.kode_induk, kecamatan[w.kode_induk]) for w in region.kelurahan()]


def region_residents() -> int:
    """Residents of the region's kab/kota (Kepmendagri 2025): Kota Malang 889,359."""
    return sum(residents_by_kabkota().values())


def residents_by_kabkota() -> dict[str, int]:
    path = settings.dbt_project_dir() / "seeds" / "reference" / "penduduk_prov_kabkota_kepmendagri_2025.csv"
    served = set(region.kabkota_codes())
    return {r["kode"]: int(r["total"]) for r in csv.DictReader(path.open(encoding="utf-8")) if r["kode"] in served}


def _kelurahan_shares(kelurahan: list[Kelurahan]) -> list[float]:
    """Weight of each kelurahan's kab/kota: its residents per kelurahan, relative to the densest kab/kota (1.0
    for every kelurahan of a one-kab/kota region), so each kab/kota gets its share of the population."""
    residents = residents_by_kabkota()
    count: dict[str, int] = {}
    for k in kelurahan:
        count[k.code[:5]] = count.get(k.code[:5], 0) + 1
    density = {code: residents[code] / n for code, n in count.items()}
    densest = max(density.values())
    return [density[k.code[:5]] / densest for k in kelurahan]


def _other_kecamatan_codes() -> list[str]:
    """Kecamatan codes in Jawa Timur outside the region: where migrants first registered."""
    path = settings.dbt_project_dir() / "seeds" / "reference" / "kode_wilayah_indonesia_prov_kabkota_kec.csv"
    served = set(region.kabkota_codes())
    return [
        r["kode_tanpa_titik"] for r in csv.DictReader(path.open(encoding="utf-8"))
        if r["level"] == "3" and r["kode"].startswith("35.") and r["kode"][:5] not in served
    ]


class _NikRegistry:
    """Hands out unique, well-formed NIKs and KK numbers."""

    def __init__(self) -> None:
        self._serials: dict[str, int] = {}

    def _next(self, key: str) -> str:
        serial = self._serials.get(key, 0) + 1
        self._serials[key] = serial
        return f"{key}{serial:04d}"

    def nik(self, kecamatan6: str, birth: date, sex: str) -> str:
        day = birth.day + (40 if sex == "P" else 0)
        return self._next(f"{kecamatan6}{day:02d}{birth.month:02d}{birth.year % 100:02d}")

    def no_kk(self, kecamatan6: str, issued: date) -> str:
        return self._next(f"{kecamatan6}{issued.day:02d}{issued.month:02d}{issued.year % 100:02d}")


def _birth(rng: random.Random, age_min: int, age_max: int) -> date:
    days = rng.randint(age_min * 365, age_max * 365 + 364)
    return REFERENCE_DATE - timedelta(days=days)


def _name(rng: random.Random, sex: str) -> str:
    first = rng.choice(names.MALE_FIRST if sex == "L" else names.FEMALE_FIRST)
    parts = rng.random()
    if parts < 0.15:
        return first
    if parts < 0.85:
        return f"{first} {rng.choice(names.SECOND)}"
    middle = rng.choice(names.MALE_FIRST if sex == "L" else names.FEMALE_FIRST)
    return f"{first} {middle} {rng.choice(names.SECOND)}"


def _desil(rng: random.Random) -> int:
    # Kota Malang is richer than the national average: fewer households in the lowest deciles.
    return rng.choices(range(1, 11), weights=[6, 6, 6, 7, 9, 11, 13, 14, 14, 14])[0]


def generate(scale: str = "small", seed: int = 1, profile: str = "default") -> Population:
    """The residents; `profile` chooses how the agencies' deliveries rendered from them are noised."""
    second.check(profile)
    rng = random.Random(seed)
    target = max(50, round(region_residents() * scale_factor(scale)))
    kelurahan = load_kelurahan()
    weights = [rng.uniform(0.5, 1.5) * share for share in _kelurahan_shares(kelurahan)]
    other_kec = _other_kecamatan_codes()
    registry = _NikRegistry()
    persons: list[Person] = []
    households: list[Household] = []

    def add_person(hh: Household, sex: str, birth: date, relationship: str, mother: str, local: bool) -> Person:
        kec6 = hh.kelurahan.kecamatan_code.replace(".", "") if local else rng.choice(other_kec)
        person = Person(
            person_id=len(persons), nik=registry.nik(kec6, birth, sex), name=_name(rng, sex), sex=sex,
            birth_date=birth,
            birth_place=rng.choice(names.BIRTH_PLACES_LOCAL if local else names.BIRTH_PLACES_OTHER),
            mother_name=mother, household_id=hh.household_id, relationship=relationship,
        )
        persons.append(person)
        hh.members.append(person.person_id)
        return person

    while len(persons) < target:
        kel = rng.choices(kelurahan, weights=weights)[0]
        issued = REFERENCE_DATE - timedelta(days=rng.randint(30, 20 * 365))
        hh = Household(
            household_id=len(households), no_kk=registry.no_kk(kel.kecamatan_code.replace(".", ""), issued),
            kelurahan=kel, street=rng.choice(names.STREETS), house_number=rng.randint(1, 250),
            rt=rng.randint(1, 15), rw=rng.randint(1, 12), desil=_desil(rng),
        )
        households.append(hh)
        local = rng.random() < 0.85
        single = rng.random() < 0.12
        head_sex = "P" if single and rng.random() < 0.5 else ("L" if rng.random() < 0.93 else "P")
        head = add_person(hh, head_sex, _birth(rng, 22, 80), "KEPALA KELUARGA", _name(rng, "P"), local)
        spouse = None
        if not single:
            spouse_sex = "P" if head_sex == "L" else "L"
            age = (REFERENCE_DATE - head.birth_date).days // 365
            spouse = add_person(hh, spouse_sex, _birth(rng, max(18, age - 8), min(85, age + 4)),
                                "ISTRI" if spouse_sex == "P" else "SUAMI", _name(rng, "P"), rng.random() < 0.85)
        mother = head if head.sex == "P" else spouse
        head_age = (REFERENCE_DATE - head.birth_date).days // 365
        for _ in range(rng.choices([0, 1, 2, 3, 4, 5], weights=[18, 22, 30, 18, 8, 4])[0]):
            if head_age < 20:
                break
            child_sex = rng.choice("LP")
            add_person(hh, child_sex, _birth(rng, 0, min(30, head_age - 18)), "ANAK",
                       mother.name if mother else _name(rng, "P"), True)
        if rng.random() < 0.06:
            add_person(hh, rng.choice("LP"), _birth(rng, 60, 90), rng.choice(["ORANG TUA", "MERTUA"]),
                       _name(rng, "P"), local)
    return Population(seed=seed, persons=persons, households=households, profile=profile)
