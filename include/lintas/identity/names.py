"""Indonesian personal names: titles into their own field, Muhammad/Abdul variants and old spellings unified.

The canonical form is for comparison and blocking, never for display: analysts see the name as registered.
Rules come from the reviewed token dictionary in the reference seeds (nama-alamat, MIT) plus our own
spelling rules; the dictionary's risky entries (a lone `m`, dropped `r` for Raden, `kh`) are overridden here.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache

from lintas import settings

# Honorifics and degrees that clerks write before or after a name (with or without dots).
PREFIX_TITLES = {
    "h", "hj", "haji", "hajjah", "kh", "drs", "dra", "dr", "ir", "prof", "ust", "ustadz", "ustadzah", "bpk",
    "bapak", "ibu", "sdr", "sdri", "tn", "ny", "nn", "almarhum", "alm", "almh", "almarhumah",
}
SUFFIX_TITLES = {
    "spd", "se", "sh", "amd", "skom", "st", "ssos", "sag", "spdi", "sip", "mm", "mpd", "msi", "mt", "mh",
    "ssi", "skm", "skep", "sked", "ked", "apt", "ak", "mag", "mkom", "spsi", "sth", "ma", "ba", "bsc", "phd",
    "amk", "amkeb", "spt", "sp", "shi", "sei", "sthi", "lc", "dipl",
}
# Spelled-out first-name variants -> canonical (lower case, after dots are removed).
FIRST_NAME_FORMS = {
    "moch": "muhammad", "mochammad": "muhammad", "mochamad": "muhammad", "moh": "muhammad",
    "mohammad": "muhammad", "mohamad": "muhammad", "mohamed": "muhammad", "muhamad": "muhammad",
    "muh": "muhammad", "muhammad": "muhammad", "mukhammad": "muhammad", "mhd": "muhammad", "muchammad": "muhammad",
    "muchamad": "muhammad", "mochamat": "muhammad",
    "achmad": "ahmad", "akhmad": "ahmad", "ahmat": "ahmad", "ahmd": "ahmad",
    "abd": "abdul", "abdoel": "abdul", "jusuf": "yusuf", "yusup": "yusuf",
}
# Old (pre-1972) spellings to EYD, applied inside tokens: oe -> u, dj -> j, tj -> c, nj -> ny, sj -> sy, ch -> kh.
OLD_SPELLINGS = (("oe", "u"), ("dj", "j"), ("tj", "c"), ("nj", "ny"), ("sj", "sy"))
_NON_LETTERS = re.compile(r"[^a-z\s,]")
_ABBREVIATION_DOT = re.compile(r"\b(m|moch|moh|muh|mhd|abd)\.(?=[a-z])")
_OLD_MARKERS = ("oe", "dj", "tj", "sj", "nj")


@dataclass(frozen=True)
class Name:
    canonical: str  # lower case, tokens joined by one space: "muhammad rizki santoso"
    titles: tuple[str, ...]  # stripped titles, canonical lower case: ("h", "spd")

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(self.canonical.split())


@lru_cache(maxsize=1)
def _dictionary() -> tuple[frozenset[str], dict[str, str]]:
    """Single-token entries of the reviewed seed: tokens to drop, and replacements."""
    path = settings.dbt_project_dir() / "seeds" / "reference" / "normalisasi_nama_nama_alamat_pkg.csv"
    drop, replace = set(), {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            token, target = row["token"].strip(), row["ganti_dengan"].strip()
            if " " in token or token in {"m", "r", "kh", "ma"}:  # reviewed out: see module docstring
                continue
            if target:
                replace[token] = target
            else:
                drop.add(token)
    return frozenset(drop), replace


def _old_spelling(token: str) -> str:
    if not any(marker in token for marker in _OLD_MARKERS):
        return token
    # in old spelling a bare j is today's y (Tjahjo -> Cahyo); j inside dj/tj/sj/nj is handled below
    token = re.sub(r"(?<![dtsn])j", "y", token)
    for old, new in OLD_SPELLINGS:
        token = token.replace(old, new)
    return token


def normalise(raw: str | None) -> Name | None:
    """Canonical name for comparison. Returns None if nothing of a name is left."""
    if raw is None:
        return None
    text = raw.lower().replace("'", "").replace("`", "")
    body, _, after_comma = text.partition(",")  # degrees follow a comma: "budi, s.pd., m.m."
    # an abbreviated first name runs into the next part ("m.rizki"); other dots are inside titles ("s.pd.")
    body = _NON_LETTERS.sub(" ", _ABBREVIATION_DOT.sub(r"\1 ", body).replace(".", ""))
    after_comma = _NON_LETTERS.sub(" ", after_comma.replace(".", ""))
    drop, replace = _dictionary()
    titles: list[str] = []
    tokens = body.split()
    # prefix titles: "h", "hj", "drs" ... at the front
    while tokens and (tokens[0] in PREFIX_TITLES or (tokens[0] in drop and len(tokens) > 1)):
        titles.append(tokens.pop(0))
    # suffix titles: after a comma, or trailing degree tokens
    titles += [t for t in after_comma.replace(",", " ").split() if t]
    while len(tokens) > 1 and tokens[-1] in SUFFIX_TITLES:
        titles.insert(len(titles), tokens.pop())
    out = []
    for position, token in enumerate(tokens):
        if position == 0 and token == "m" and len(tokens) > 1:
            token = "muhammad"  # "M. Rizki": a lone M before a given name is Muhammad
        token = FIRST_NAME_FORMS.get(token, token)
        token = replace.get(token, token)
        token = FIRST_NAME_FORMS.get(_old_spelling(token), _old_spelling(token))
        out.append(token)
    canonical = " ".join(out)
    return Name(canonical, tuple(titles)) if canonical else None


def osa_distance(a: str, b: str, limit: int) -> int:
    """Edit distance counting an adjacent transposition as one edit; anything past `limit` is limit + 1 (names
    here, NIK digits in lintas.identity.rules)."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2, previous = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if previous2 is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def _initial_of(short: str, full: str) -> bool:
    return len(short) == 1 and full.startswith(short)


def same_person_spelling(a: str | None, b: str | None) -> bool:
    """Two canonical names a clerk could have written for one person: equal; one typo or transposition; a
    word written as its initial ("budi s" / "budi santoso"); one unrecognised word more at the front or end (a
    title the dictionary lacks, "bu siti aminah"), the shorter keeping two words. Not: another given name or
    surname ("dimas saputra" / "dimas pratama"), a lone shared word ("dimas" / "dimas saputra")."""
    if not a or not b:
        return False
    if a == b:
        return True
    # one typo; two would make twins and siblings one person ("rahmawati" / "rahmadani")
    if min(len(a), len(b)) >= 5 and osa_distance(a, b, 1) <= 1:
        return True
    ta, tb = a.split(), b.split()
    if len(ta) == len(tb) and len(ta) > 1:
        return all(x == y or _initial_of(x, y) or _initial_of(y, x) for x, y in zip(ta, tb, strict=True)) and any(
            x == y and len(x) > 1 for x, y in zip(ta, tb, strict=True))
    short, long_ = (ta, tb) if len(ta) < len(tb) else (tb, ta)
    return len(long_) == len(short) + 1 and len(short) >= 2 and short in (long_[1:], long_[:-1])
