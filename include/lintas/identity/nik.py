"""NIK and No. KK: parse, validate, and read what the number itself says (place, birth date, sex).

A NIK is PPKKCC DDMMYY SSSS: province, kab/kota, kecamatan of FIRST registration (not of residence, so the
historical code list counts too), birth date with 40 added to the day for women, and a serial that is never 0000.
A No. KK has the same shape with the card's issue date in the middle. Findings are signals for linkage, not
verdicts: a NIK that disagrees with the recorded sex is suspicious, not invalid.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from lintas import settings

REFERENCE_DATE = date(2026, 11, 1)
MAX_AGE_YEARS = 110
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?E\+?\d+$", re.IGNORECASE)  # 3.57305E+15: Excel's display of a number
_SEPARATORS = re.compile(r"[\s.\-']")


@dataclass(frozen=True)
class NikCheck:
    """What a recorded NIK (or No. KK) says. `nik` is the cleaned 16 digits, or None if it has none."""

    nik: str | None
    problems: tuple[str, ...] = field(default=())
    implied_sex: str | None = None  # L / P
    implied_birth_date: date | None = None
    kecamatan_code: str | None = None  # 6 digits, place of first registration

    @property
    def is_valid(self) -> bool:
        return self.nik is not None and not self.problems


@lru_cache(maxsize=1)
def known_kecamatan_codes() -> frozenset[str]:
    """Every kecamatan code that exists now or existed in an earlier Kemendagri edition (6 digits)."""
    seeds = settings.dbt_project_dir() / "seeds" / "reference"
    codes: set[str] = set()
    with (seeds / "kode_wilayah_indonesia_prov_kabkota_kec.csv").open(encoding="utf-8") as fh:
        codes |= {r["kode_tanpa_titik"] for r in csv.DictReader(fh) if r["level"] == "3"}
    with (seeds / "kode_wilayah_historis_prov_kab_kec.csv").open(encoding="utf-8") as fh:
        codes |= {r["kode"].replace(".", "") for r in csv.DictReader(fh) if r["level"] == "3"}
    return frozenset(codes)


def clean(raw: str | None) -> str | None:
    """Digits of a recorded identifier with spacing, dots, dashes and a leading apostrophe removed."""
    if raw is None:
        return None
    text = _SEPARATORS.sub("", str(raw).strip())
    return text or None


def _is_placeholder(digits: str) -> bool:
    if len(set(digits)) == 1:
        return True  # 0000000000000000, 9999999999999999
    if digits in "01234567890123456789" or digits in "98765432109876543210":
        return True  # 1234567890123456
    return digits.endswith("000000")  # padded: a real serial and birth year never leave six trailing zeros


def _birth_date(day: int, month: int, yy: int, reference: date) -> date | None:
    for century in (2000, 1900):
        year = century + yy
        try:
            born = date(year, month, day)
        except ValueError:
            return None
        if born <= reference and reference.year - year <= MAX_AGE_YEARS:
            return born
    return None


def check_nik(raw: str | None, *, from_number_cell: bool = False, reference: date = REFERENCE_DATE) -> NikCheck:
    """Validate a recorded NIK. `from_number_cell`: it came from a spreadsheet number (15 digits survive)."""
    text = None if raw is None else str(raw).strip()
    if not text:
        return NikCheck(None, ("missing",))
    if _SCIENTIFIC.match(text):
        return NikCheck(None, ("excel_scientific",))
    digits = clean(text)
    if digits is None or not digits.isdigit():
        return NikCheck(None, ("not_digits",))
    if len(digits) != 16:
        return NikCheck(None, (f"length_{len(digits)}",))
    problems: list[str] = []
    if from_number_cell:
        problems.append("excel_number")  # the 16th digit was lost: never trust it as a key
    if _is_placeholder(digits):
        problems.append("placeholder")
    kecamatan = digits[:6]
    if kecamatan not in known_kecamatan_codes():
        problems.append("unknown_region")
    day, month, yy = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    sex = "P" if day > 40 else "L"
    born = _birth_date(day - 40 if day > 40 else day, month, yy, reference)
    if born is None:
        problems.append("bad_birth_date")
    if digits[12:] == "0000":
        problems.append("zero_serial")
    return NikCheck(digits, tuple(problems), sex if born else None, born, kecamatan)


def check_no_kk(raw: str | None, *, reference: date = REFERENCE_DATE) -> NikCheck:
    """Validate a No. KK: region prefix, a real issue date (no +40), serial not 0000."""
    text = None if raw is None else str(raw).strip()
    if not text:
        return NikCheck(None, ("missing",))
    digits = clean(text)
    if digits is None or not digits.isdigit() or len(digits) != 16:
        return NikCheck(None, ("malformed",))
    problems = []
    if _is_placeholder(digits):
        problems.append("placeholder")
    if digits[:6] not in known_kecamatan_codes():
        problems.append("unknown_region")
    issued = _birth_date(int(digits[6:8]), int(digits[8:10]), int(digits[10:12]), reference)
    if issued is None:
        problems.append("bad_issue_date")
    if digits[12:] == "0000":
        problems.append("zero_serial")
    return NikCheck(digits, tuple(problems), None, issued, digits[:6])


def disagreements(check: NikCheck, *, sex: str | None, birth_date: date | None) -> list[str]:
    """Where the NIK's implied sex or birth date disagrees with the recorded ones (signals for linkage)."""
    found = []
    if check.implied_sex and sex and check.implied_sex != sex:
        found.append("sex_mismatch")
    if check.implied_birth_date and birth_date and check.implied_birth_date != birth_date:
        found.append("birth_date_mismatch")
    return found


def _date_digits(born: date, sex: str) -> str:
    return f"{born.day + (40 if sex == 'P' else 0):02d}{born.month:02d}{born.year % 100:02d}"


def contradicts_record(check: NikCheck, *, sex: str | None, birth_date: date | None) -> bool:
    """The NIK's date digits cannot be this record's: they differ from the recorded birth date (with +40 for a
    woman) in two or more places. One differing digit is a typo on either side, or the wrong sex ticked; two or
    more are another number: a No. KK (its issue date), a relative's NIK. Without a recorded birth date: False."""
    if check.nik is None or birth_date is None:
        return False
    if check.implied_birth_date and not disagreements(check, sex=sex, birth_date=birth_date):
        return False
    recorded = check.nik[6:12]
    dates = [birth_date]
    if birth_date.day <= 12:  # day and month swapped at data entry: the same person's date
        try:
            dates.append(birth_date.replace(month=birth_date.day, day=birth_date.month))
        except ValueError:
            pass
    return min(sum(a != b for a, b in zip(recorded, _date_digits(born, s), strict=True))
               for s in ([sex] if sex in ("L", "P") else ["L", "P"]) for born in dates) >= 2


def too_young_for_ktp(check: NikCheck, reference: date = REFERENCE_DATE) -> bool:
    """The NIK's date digits say someone under 17, who has no KTP: not the NIK of a business owner or permit
    holder (typically a No. KK, whose middle digits are its recent issue date)."""
    born = check.implied_birth_date
    return born is not None and born > reference.replace(year=reference.year - 17)
