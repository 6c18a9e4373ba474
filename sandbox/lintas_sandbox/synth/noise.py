"""The errors agencies' clerks and spreadsheets really make, applied deterministically per record."""

from __future__ import annotations

import random

from lintas_sandbox.synth import names


def nik_typo(nik: str, rng: random.Random) -> str:
    i = rng.randrange(len(nik))
    return nik[:i] + rng.choice([d for d in "0123456789" if d != nik[i]]) + nik[i + 1:]


def nik_transpose(nik: str, rng: random.Random) -> str:
    for _ in range(10):
        i = rng.randrange(len(nik) - 1)
        if nik[i] != nik[i + 1]:
            return nik[:i] + nik[i + 1] + nik[i] + nik[i + 2:]
    return nik_typo(nik, rng)


def excel_corrupt(nik: str) -> str:
    """A 16-digit NIK kept by Excel as a number: only 15 significant digits survive."""
    return nik[:15] + "0"


def noisy_nik(nik: str, no_kk: str, rng: random.Random, rate: float = 1.0) -> str:
    """The NIK as an agency recorded it: mostly right, sometimes blank, mistyped, swapped or corrupted."""
    r = rng.random() / rate
    if r < 0.020:
        return ""
    if r < 0.027:
        return nik_typo(nik, rng)
    if r < 0.031:
        return nik_transpose(nik, rng)
    if r < 0.034:
        return no_kk
    if r < 0.036:
        return excel_corrupt(nik)
    return nik


def name_variant(name: str, sex: str, rng: random.Random, rate: float = 1.0) -> str:
    """Titles, Moch./Muhammad, old spellings (oe, dj), doubled spaces."""
    if rng.random() / rate > 0.10:
        return name
    parts = name.split()
    kind = rng.random()
    if kind < 0.45 and parts[0] in names.FIRST_NAME_VARIANTS:
        parts[0] = rng.choice(names.FIRST_NAME_VARIANTS[parts[0]])
    elif kind < 0.65:
        prefix = names.TITLE_PREFIX_MALE if sex == "L" else names.TITLE_PREFIX_FEMALE
        parts.insert(0, rng.choice(prefix))
    elif kind < 0.75:
        parts[-1] = parts[-1] + ","
        parts.append(rng.choice(names.TITLE_SUFFIX))
    elif kind < 0.9:
        old = " ".join(parts).replace("u", "oe", 1).replace("j", "dj", 1)
        return old
    else:
        return "  ".join(parts)
    return " ".join(parts)


def street_address(street: str, number: int, rng: random.Random) -> str:
    form = rng.random()
    if form < 0.5:
        return f"JL. {street.upper()} NO. {number}"
    if form < 0.75:
        return f"JALAN {street.upper()} {number}"
    if form < 0.9:
        return f"JL {street.upper()} NO {number}"
    return f"JLN. {street.upper()} NO.{number}"


def rt_rw(value: int, rng: random.Random) -> str:
    return f"{value:03d}" if rng.random() < 0.7 else str(value)
