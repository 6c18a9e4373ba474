"""The second noise profile (`lintas generate --profile second`): other clerks with other habits.

The linkage rules must not be tuned to one generator's mistakes. This profile keeps the population and the
contracts and adds, on top of the default noise, habits the default profile lacks: keyboard typos, dropped and
doubled letters, a surname written as its initial, a title the name dictionary does not know; a No. KK typed
into the NIK field more often; number-cell NIKs and serial-number dates more often in workbooks, some typed
with 15 digits; street lines as 'JLN', with a gang ('GG.') or with RT/RW inside; people who moved (the DTKS
register still has the old address); widowed or remarried mothers recorded with a husband's name; children
whose NIK was issued late (blank in the early DTKS months); and register cases every need rule looks for:
PKH/BPNT paid to households of desil 6-10, a blank desil, poor households without PBI-JK.

Every habit draws from its own seeded generator, so the default profile's output stays byte for byte the same.
"""

from __future__ import annotations

import random
from datetime import date

from lintas_sandbox.synth import names, noise

NAME = "second"
PROFILES = ("default", NAME)

_KEYBOARD = {  # QWERTY neighbours of the letters clerks hit
    "a": "sq", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj", "i": "uo", "j": "hk",
    "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o", "r": "et", "s": "ad", "t": "ry", "u": "yi",
    "w": "qe", "y": "tu",
}
_UNKNOWN_TITLES = ["BU", "PAK", "MBAK", "MAS", "SDRI", "IBU HJ"]  # "IBU HJ": both known, kept as a test


def check(profile: str) -> str:
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    return profile


def rng_for(seed: int, *key: object) -> random.Random:
    return random.Random(":".join(map(str, (seed, NAME, *key))))


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word))
    kind = rng.random()
    if kind < 0.35 and word[i] in _KEYBOARD:
        return word[:i] + rng.choice(_KEYBOARD[word[i]]) + word[i + 1:]
    if kind < 0.55:
        return word[:i] + word[i + 1:]  # a letter dropped
    if kind < 0.7:
        return word[:i] + word[i] + word[i:]  # a letter doubled
    if kind < 0.85 and word[-1] in "ao":
        return word[:-1] + ("o" if word[-1] == "a" else "a")  # Saputra / Saputro as heard
    return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:] if word[i] != word[i - 1] else word


def name(recorded: str, rng: random.Random) -> str:
    """A name as these clerks write it: one typo, the surname as an initial, or a title the dictionary lacks."""
    r = rng.random()
    words = recorded.split()
    if r < 0.06:
        i = rng.randrange(len(words))
        words[i] = _typo(words[i].lower(), rng).upper() if recorded.isupper() else _typo(words[i], rng)
    elif r < 0.08 and len(words) > 1:
        words[-1] = words[-1][0] + "."
    elif r < 0.10:
        words.insert(0, rng.choice(_UNKNOWN_TITLES))
    return " ".join(words)


def mother(recorded: str, rng: random.Random) -> str:
    """A widowed or remarried mother recorded with a husband's name after hers, or without her second name."""
    if not recorded or rng.random() >= 0.06:
        return recorded
    words = recorded.split()
    if len(words) > 1 and rng.random() < 0.4:
        return words[0]
    return f"{recorded} {rng.choice(names.MALE_FIRST).upper()}"


def nik(recorded: str, true_nik: str, no_kk: str, rng: random.Random) -> str:
    """More No. KK typed as NIK (1.5 %) and more one-digit typos (1 %) on top of the default noise."""
    if recorded != true_nik:
        return recorded
    r = rng.random()
    if r < 0.015:
        return no_kk
    if r < 0.025:
        return noise.nik_typo(true_nik, rng)
    return recorded


def street_address(street: str, number: int, rt: int, rw: int, rng: random.Random) -> str:
    form = rng.random()
    if form < 0.3:
        return f"JLN {street.upper()} NO {number}"
    if form < 0.5:
        return f"JL.{street.upper()} NO.{number}"
    if form < 0.65:
        return f"JL. {street.upper()} GG. {rng.choice(['I', 'II', 'III', 'IV', 'V'])} NO. {number}"
    if form < 0.85:
        return f"JL. {street.upper()} NO. {number} RT {rt:02d}/RW {rw:02d}"
    return f"JL. {street.upper()} {number}"


def nik_cell(true_recorded: str, rng: random.Random) -> tuple[object, str | None] | None:
    """A workbook NIK: a number cell 45 % of the time (30 % of those typed with 15 digits); None: as default."""
    if not true_recorded or not true_recorded.isdigit() or rng.random() >= 0.45:
        return None
    if rng.random() < 0.3:
        return int(true_recorded[:15]), "0"  # typed without its last digit
    return int(noise.excel_corrupt(true_recorded)), "0"


def date_as_serial(rng: random.Random) -> bool:
    return rng.random() < 0.3


def moved_from(seed: int, person_id: int, kelurahan: list) -> tuple | None:
    """For 5 % of the residents: the address they lived at before (kelurahan, street, number, rt, rw)."""
    rng = rng_for(seed, "moved", person_id)
    if rng.random() >= 0.05:
        return None
    return (rng.choice(kelurahan), rng.choice(names.STREETS), rng.randint(1, 250), rng.randint(1, 15),
            rng.randint(1, 12))


def nik_issued_late(seed: int, person_id: int, birth_date: date, reference: date) -> bool:
    """A child under 5 whose NIK was issued late: blank in every DTKS month but the last."""
    return (reference - birth_date).days < 5 * 365 and rng_for(seed, "late_nik", person_id).random() < 0.5


def register_case(seed: int, household_id: int, desil: int) -> tuple[bool, bool, bool, bool]:
    """(in DTKS although desil 6-10, paid PKH, paid BPNT, desil left blank) for a household."""
    rng = rng_for(seed, "register", household_id)
    wrongly_in = desil >= 6 and rng.random() < 0.01
    pkh, bpnt = rng.random() < 0.5, rng.random() < 0.7
    return wrongly_in, wrongly_in and pkh, wrongly_in and (bpnt or not pkh), rng.random() < 0.03


def without_pbi(seed: int, household_id: int) -> bool:
    return rng_for(seed, "pbi", household_id).random() < 0.15
