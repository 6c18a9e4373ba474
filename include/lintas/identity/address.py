"""Address standardisation: street and house number, RT/RW as integers, kelurahan/kecamatan to Kemendagri codes.

Region names are resolved through the reviewed alias list (Kemendagri 2025, BPS MFD 2018, spacing variants) by a
spelling-insensitive key; a name one or two typos away from exactly one kelurahan of the given kecamatan is
accepted too. Anything else stays unresolved (None) rather than guessed.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache

from lintas import region, settings
from lintas.identity.names import _old_spelling

_KEY = re.compile(r"[^A-Z0-9]")
_CODE = re.compile(r"^\s*(\d{2})\.?(\d{2})\.?(\d{2})\.?(\d{4})?\s*$")
_NUMBERS = re.compile(r"\d{1,3}")
STREET_PREFIXES = {"jl", "jalan", "jln", "jl.", "jaln"}
HOUSE_NUMBER_WORDS = {"no", "nomor", "nmr", "no."}
_RT_RW_IN_LINE = re.compile(r"\b(rt|rw)\s*\d{1,3}\b")
_GANG = re.compile(r"(?<=[a-z0-9])\s+(gg|gang)\s+([ivx]+|\d{1,2}[a-z]?|[a-z]+)\b")  # after a street name only


def region_key(name: str | None) -> str | None:
    """'Oro-oro Dowo' = 'ORO ORO DOWO' = 'OROORODOWO'; 'Kel. Bareng' = 'BARENG'."""
    if not name:
        return None
    text = re.sub(r"^\s*(KEL(URAHAN)?|KEC(AMATAN)?|DESA|DS)\b\.?", "", name.upper())
    return _KEY.sub("", text) or None


@dataclass(frozen=True)
class Region:
    code: str  # 35.73.05.1003
    name: str
    kecamatan_code: str


def _regions() -> tuple[dict[str, Region], dict[str, str], dict[str, list[str]]]:
    return _regions_of(region.kabkota_codes())


@lru_cache(maxsize=4)
def _regions_of(kabkota: tuple[str, ...]) -> tuple[dict[str, Region], dict[str, str], dict[str, list[str]]]:
    """(kelurahan by code, kecamatan code by alias key, kelurahan codes by alias key) of the configured region:
    every kelurahan/desa by its Kemendagri name, plus the reviewed alias list's spellings (Kota Malang)."""
    kelurahan = {w.kode: Region(w.kode, w.nama, w.kode_induk) for w in region.kelurahan()}
    kecamatan_codes: dict[str, set[str]] = {}
    kelurahan_by_key: dict[str, list[str]] = {}

    def add(name: str, code: str) -> None:
        key = region_key(name)
        if not key or code[:5] not in kabkota:
            return
        if code.count(".") == 2:
            kecamatan_codes.setdefault(key, set()).add(code)
        elif code in kelurahan and code not in kelurahan_by_key.setdefault(key, []):
            kelurahan_by_key[key].append(code)

    for w in region.wilayah():
        if w.level in (3, 4):
            add(w.nama, w.kode)
    seeds = settings.dbt_project_dir() / "seeds" / "reference"
    with (seeds / "alias_kecamatan_kelurahan_kota_malang.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            add(row["alias_upper"], row["kode_kemendagri"])
    # a kecamatan name two kab/kota share resolves to neither
    kecamatan_by_key = {key: next(iter(codes)) for key, codes in kecamatan_codes.items() if len(codes) == 1}
    return kelurahan, kecamatan_by_key, kelurahan_by_key


def _edit_distance(a: str, b: str, limit: int) -> int:
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _from_code(text: str | None) -> str | None:
    match = _CODE.match(text or "")
    if not match:
        return None
    return ".".join(g for g in match.groups() if g)


def resolve_kecamatan(name: str | None) -> str | None:
    code = _from_code(name)
    if code and code.count(".") == 2:
        return code
    return _regions()[1].get(region_key(name) or "")


def resolve_kelurahan(name: str | None, kecamatan: str | None = None) -> str | None:
    """Kemendagri kelurahan code (35.73.05.1003) for a name or code as recorded, or None; within the configured
    region (a code or name of a kelurahan elsewhere resolves to None)."""
    return _resolve_kelurahan(name, kecamatan, region.kabkota_codes())


@lru_cache(maxsize=65536)  # a city has few distinct spellings; linkage resolves hundreds of thousands of records
def _resolve_kelurahan(name: str | None, kecamatan: str | None, kabkota: tuple[str, ...]) -> str | None:
    kelurahan, _, by_key = _regions_of(kabkota)
    code = _from_code(name)
    if code and code in kelurahan:
        return code
    key = region_key(name)
    if not key:
        return None
    code = _from_code(kecamatan)
    kecamatan_code = code if code and code.count(".") == 2 else _regions_of(kabkota)[1].get(region_key(kecamatan) or "")
    candidates = by_key.get(key, [])
    if kecamatan_code:
        in_kecamatan = [c for c in candidates if kelurahan[c].kecamatan_code == kecamatan_code]
        candidates = in_kecamatan or candidates
    if len(candidates) == 1:
        return candidates[0]
    if candidates or not kecamatan_code or len(key) < 5:
        return None  # ambiguous, or too short to correct safely
    # a typo: accept the unique closest kelurahan of the same kecamatan within two edits
    near = sorted(
        (_edit_distance(key, alias, 2), code)
        for alias, codes in by_key.items()
        for code in codes
        if kelurahan[code].kecamatan_code == kecamatan_code
    )
    near = [(d, c) for d, c in near if d <= 2]
    if near and (len(near) == 1 or near[0][0] < near[1][0] or near[0][1] == near[1][1]):
        return near[0][1]
    return None


def parse_rt_rw(value: str | None) -> tuple[int | None, int | None]:
    """'005' -> (5, None); '005/002', 'RT.05/RW.02', 'RT 5 RW 2' -> (5, 2). Zero means unknown."""
    numbers = [int(n) for n in _NUMBERS.findall(value or "")]
    numbers = [n if n > 0 else None for n in numbers]
    return (numbers[0] if numbers else None, numbers[1] if len(numbers) > 1 else None)


@dataclass(frozen=True)
class Street:
    name: str | None  # canonical street name without the Jl. prefix: "sukarno hatta"
    house_number: str | None  # "12", "12a"


def standardise_street(raw: str | None) -> Street:
    """'JL. SOEKARNO HATTA NO. 12' = 'Jalan Sukarno Hatta 12' = 'JLN SOEKARNO-HATTA NO.12'."""
    if not raw:
        return Street(None, None)
    text = re.sub(r"[.,/\\-]", " ", raw.lower())
    text = re.sub(r"\b(no|nomor|nmr)(\d)", r"\1 \2", text)
    # RT/RW written into the street line: they have their own fields; a gang is a lane off the street, which
    # one agency records and another leaves out
    text = _RT_RW_IN_LINE.sub(" ", text)
    text = _GANG.sub(" ", text)
    tokens = text.split()
    number = None
    words = []
    for i, token in enumerate(tokens):
        if token in HOUSE_NUMBER_WORDS:
            continue
        if re.fullmatch(r"\d+[a-z]?", token) and (i == len(tokens) - 1 or tokens[i - 1] in HOUSE_NUMBER_WORDS):
            number = token
            continue
        if i == 0 and token in STREET_PREFIXES:
            continue
        words.append(_old_spelling(token))
    return Street(" ".join(words) or None, number)
