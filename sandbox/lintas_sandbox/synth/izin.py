"""DPMPTSP's view: the business-permit (OSS-RBA NIB) database, as a relational database via SQLAlchemy Core.

Every UMKM owner whose business has an NIB in Diskopindag's workbooks holds a permit with that NIB here (see
`lintas_sandbox.synth.umkm.owners`). The database keeps local wall-clock time (Asia/Jakarta) without a zone, at second
resolution; batch jobs give many rows exactly the same `updated_at`. A permit is never deleted: its status changes.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from lintas_sandbox.synth import names, noise, second, umkm
from lintas_sandbox.synth.population import REFERENCE_DATE, Kelurahan, Person, Population, load_kelurahan

PERMITS_CITY = 35_000
AGENCY_TIMEZONE = ZoneInfo("Asia/Jakarta")
TRUTH_FILE = "dpmptsp_izin_usaha.csv"
CHUNK = 5_000
LAST_MOMENT = datetime.combine(REFERENCE_DATE, time(15, 30))
# Bulk jobs that rewrote many rows at one instant: the OSS-RBA migration, risk re-mapping, year-end clean-ups.
BATCH_UPDATES = (
    datetime(2021, 8, 9, 0, 0, 0), datetime(2022, 12, 31, 23, 59, 59), datetime(2023, 6, 30, 2, 0, 0),
    datetime(2024, 12, 31, 23, 59, 59), datetime(2025, 10, 1, 1, 0, 0), datetime(2026, 3, 2, 2, 0, 0),
)
RISK_LEVELS = ("RENDAH", "MENENGAH RENDAH", "MENENGAH TINGGI", "TINGGI")
COMPANY_FORMS = ("CV", "CV", "CV", "PT", "PT", "KOPERASI", "UD")

metadata = sa.MetaData()
izin_usaha = sa.Table(
    "izin_usaha", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("nib", sa.CHAR(13)),
    sa.Column("tanggal_terbit", sa.Date),
    sa.Column("jenis_pelaku_usaha", sa.CHAR(2)),
    sa.Column("nama_usaha", sa.String(200)),
    sa.Column("nik_penanggung_jawab", sa.String(16)),
    sa.Column("nama_penanggung_jawab", sa.String(150)),
    sa.Column("alamat_usaha", sa.String(255)),
    sa.Column("rt_rw", sa.String(20)),
    sa.Column("kelurahan", sa.String(100)),
    sa.Column("kode_wilayah", sa.CHAR(10)),
    sa.Column("skala_usaha", sa.String(20)),
    sa.Column("status", sa.String(20)),
    sa.Column("created_at", sa.DateTime),
    sa.Column("updated_at", sa.DateTime),
    sa.Index("ix_izin_usaha_updated_at", "updated_at"),
)
izin_usaha_kbli = sa.Table(
    "izin_usaha_kbli", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("izin_id", sa.BigInteger, sa.ForeignKey("izin_usaha.id"), nullable=False),
    sa.Column("kbli", sa.CHAR(5)),
    sa.Column("nama_kegiatan", sa.String(255)),
    sa.Column("skala_risiko", sa.String(20)),
    sa.Column("updated_at", sa.DateTime),
    sa.Index("ix_izin_usaha_kbli_updated_at", "updated_at"),
    sa.Index("ix_izin_usaha_kbli_izin_id", "izin_id"),
)


def create_schema(engine: sa.Engine, drop: bool = False) -> None:
    """Create the contract's two tables (dropping them first when asked). Works on SQLite and MariaDB/MySQL."""
    if drop:
        metadata.drop_all(engine)
    metadata.create_all(engine)


def default_url(out: Path) -> str:
    return f"sqlite:///{(out / 'sources' / 'dpmptsp.sqlite').resolve()}"


# --- permits --------------------------------------------------------------------------------------------------------

@dataclass(slots=True)
class _Permit:
    row: dict  # izin_usaha columns without id
    kbli: list[dict]  # izin_usaha_kbli columns without id / izin_id
    person_id: int | None


def _kelurahan_spelling(name: str, rng: random.Random) -> str:
    """OSS takes the kelurahan from a pick list, but older and migrated permits carry typed spellings."""
    upper = name.upper()
    r = rng.random()
    if r < 0.80:
        return upper
    if r < 0.88:
        return upper.replace(" ", "").replace("-", "")
    if r < 0.93:
        return upper.replace("-", " ")
    if r < 0.97:
        return f"KELURAHAN {upper}"
    return name.title()


def _recorded_nik(nik: str, rng: random.Random) -> str:
    """OSS checks NIKs against Dukcapil, so errors are rarer than on paper: a typo, a swap, or nothing."""
    r = rng.random()
    if r < 0.02:
        return ""
    if r < 0.035:
        return noise.nik_typo(nik, rng)
    if r < 0.045:
        return noise.nik_transpose(nik, rng)
    return nik


def _moment(day: date, rng: random.Random) -> datetime:
    """A submission time on that day: office hours mostly, OSS is online at night too."""
    if rng.random() < 0.8:
        seconds = rng.randint(7 * 3600 + 30 * 60, 16 * 3600)
    else:
        seconds = rng.randrange(86_400)
    return datetime.combine(day, time()) + timedelta(seconds=seconds)


def _updated(created: datetime, rng: random.Random) -> datetime:
    r = rng.random()
    if r < 0.45 or created >= LAST_MOMENT:
        return created
    if r < 0.70:
        later = [b for b in BATCH_UPDATES if b > created]
        if later:
            return rng.choice(later)
    span = int((LAST_MOMENT - created).total_seconds())
    return created + timedelta(seconds=rng.randint(1, span))


def _status(issued: date, rng: random.Random, umkm_owner: bool) -> str:
    r = rng.random()
    if umkm_owner:
        return "AKTIF" if r < 0.97 else "DICABUT"
    old = issued.year < 2022
    if r < (0.20 if old else 0.04):
        return "KADALUARSA"
    if r < (0.25 if old else 0.07):
        return "DICABUT"
    return "AKTIF"


def _kbli_rows(business: umkm.Business, rng: random.Random, at: datetime) -> list[dict]:
    codes = [business.kbli]
    extra = list(business.related)
    rng.shuffle(extra)
    codes += extra[:rng.choices([0, 1, 2], weights=[55, 35, 10])[0]]
    rows = []
    for code in codes:
        if code in umkm.KBLI_BY_CODE:
            kind = umkm.KBLI_BY_CODE[code]
            nama, risk = kind.nama_kegiatan, kind.skala_risiko
        else:
            nama, risk = umkm.EXTRA_KBLI[code]
        if rng.random() < 0.12:  # the risk depends on the premises' size too
            risk = RISK_LEVELS[min(RISK_LEVELS.index(risk) + 1, len(RISK_LEVELS) - 1)]
        rows.append({"kbli": code, "nama_kegiatan": nama.upper() if rng.random() < 0.3 else nama,
                     "skala_risiko": risk, "updated_at": at})
    return rows


def _address(person: Person | None, pop: Population, kelurahan: list[Kelurahan],
             rng: random.Random) -> tuple[Kelurahan, str, int, int]:
    """(kelurahan, street line, rt, rw) of the business: the owner's home mostly, else premises elsewhere."""
    if person is not None and rng.random() < 0.8:
        hh = pop.households[person.household_id]
        return hh.kelurahan, noise.street_address(hh.street, hh.house_number, rng), hh.rt, hh.rw
    kel = rng.choice(kelurahan)
    line = noise.street_address(rng.choice(names.STREETS), rng.randint(1, 300), rng)
    if rng.random() < 0.2:
        line = f"RUKO {line}"
    return kel, line, rng.randint(1, 15), rng.randint(1, 12)


def _permit(pop: Population, rng: random.Random, kelurahan: list[Kelurahan], *, person: Person | None,
            company: bool, business: umkm.Business, nama_usaha: str, nib: str, issued: date,
            created: datetime | None = None, updated: datetime | None = None, umkm_owner: bool = False) -> _Permit:
    kel, street_line, rt, rw = _address(person, pop, kelurahan, rng)
    if person is not None:
        nik = _recorded_nik(person.nik, rng)
        if company and rng.random() < 0.6:
            nik = None  # badan usaha: the responsible person's NIK is often not filled in
        name = noise.name_variant(person.name, person.sex, rng).upper()
    else:  # a director who does not live in Kota Malang
        sex = rng.choice("LP")
        name = f"{rng.choice(names.MALE_FIRST if sex == 'L' else names.FEMALE_FIRST)} {rng.choice(names.SECOND)}"
        name = name.upper()
        nik = None if rng.random() < 0.7 else f"3578{rng.randrange(10**12):012d}"
    if company:
        scale = rng.choices(["MIKRO", "KECIL", "MENENGAH", "BESAR"], weights=[40, 35, 18, 7])[0]
    else:
        scale = rng.choices(["MIKRO", "KECIL", "MENENGAH"], weights=[92, 7, 1])[0]
    created = created or _moment(issued, rng)
    updated = updated or _updated(created, rng)
    kbli = _kbli_rows(business, rng, created if rng.random() < 0.7 else updated)
    row = {
        "nib": nib,
        "tanggal_terbit": issued,
        "jenis_pelaku_usaha": "01" if company else "02",
        "nama_usaha": nama_usaha,
        "nik_penanggung_jawab": nik,
        "nama_penanggung_jawab": name,
        "alamat_usaha": street_line,
        "rt_rw": umkm.rt_rw_combined(rt, rw, rng),
        "kelurahan": None if rng.random() < 0.02 else _kelurahan_spelling(kel.name, rng),
        "kode_wilayah": None if rng.random() < 0.05 else kel.code.replace(".", ""),
        "skala_usaha": scale,
        "status": _status(issued, rng, umkm_owner),
        "created_at": created,
        "updated_at": updated,
    }
    if person is not None and pop.profile == second.NAME:
        hh = pop.household_of(person)
        home = kel == hh.kelurahan and hh.street.upper() in street_line and not street_line.startswith("RUKO")
        _second_habits(pop, row, person, home=home)
    return _Permit(row, kbli, person.person_id if person is not None else None)


def _second_habits(pop: Population, row: dict, person: Person, *, home: bool) -> None:
    """The second profile's licensing clerk: other typos, the No. KK as NIK, 'JLN' / 'GG.' / RT-RW inside the
    street line of a business run from home."""
    rng = second.rng_for(pop.seed, "izin", row["nib"])
    hh = pop.household_of(person)
    row["nama_penanggung_jawab"] = second.name(row["nama_penanggung_jawab"], rng)
    if row["nik_penanggung_jawab"]:
        row["nik_penanggung_jawab"] = second.nik(row["nik_penanggung_jawab"], person.nik, hh.no_kk, rng)
    if home:
        row["alamat_usaha"] = second.street_address(hh.street, hh.house_number, hh.rt, hh.rw, rng)


def _issue_date(rng: random.Random, until: date = REFERENCE_DATE) -> date:
    start = date(2019, 1, 2)
    # OSS-RBA (Aug 2021) and the micro-business NIB drives made later years busier
    while True:
        day = start + timedelta(days=int(((until - start).days) * rng.random() ** 0.7))
        if day < until:
            return day


def _company_name(business: umkm.Business, rng: random.Random) -> str:
    return f"{rng.choice(COMPANY_FORMS)} {umkm.business_name(business, rng.choice(umkm.NAME_WORDS), rng)}"


def _adults(pop: Population, low: int, high: int) -> list[Person]:
    return [p for p in pop.persons if low <= umkm.age_on(p) <= high]


def _new_permits(pop: Population, rng: random.Random, count: int, used_nibs: set[str],
                 issued_at: datetime | None = None, company_share: float = 0.15) -> list[_Permit]:
    """`count` permits that are not for UMKM binaan; `company_share` of them for a badan usaha."""
    kelurahan = load_kelurahan()
    adults = _adults(pop, 20, 70)
    # better-off households license their businesses more often
    cum_weights = list(accumulate(0.5 + pop.households[p.household_id].desil / 10 for p in adults))
    kinds = list(umkm.BUSINESSES)
    kind_weights = [b.permit_weight for b in kinds]
    company_kinds = [b for b in kinds if b.umkm_weight == 0 or b.permit_weight >= 3]
    out = []
    for _ in range(count):
        company = rng.random() < company_share
        business = rng.choices(company_kinds if company else kinds,
                               weights=None if company else kind_weights)[0]
        person = None
        if adults and (not company or rng.random() < 0.65):
            person = rng.choices(adults, cum_weights=cum_weights)[0]
        issued = issued_at.date() if issued_at else _issue_date(rng)
        if company:
            nama_usaha = _company_name(business, rng)
        else:
            nama_usaha = umkm.business_name(business, umkm.owner_part(person, rng), rng)
        nib = umkm.make_nib(rng, issued, used_nibs)
        out.append(_permit(pop, rng, kelurahan, person=person, company=company, business=business,
                           nama_usaha=nama_usaha, nib=nib, issued=issued, created=issued_at, updated=issued_at))
    return out


def permits(pop: Population) -> list[_Permit]:
    """All permits, oldest first: one per licensed UMKM owner (same NIB as the workbooks), then the rest."""
    kelurahan = load_kelurahan()
    out = []
    used: set[str] = set()
    for owner in umkm.owners(pop):
        if not owner.nib:
            continue
        used.add(owner.nib)
        rng = random.Random(f"{pop.seed}:izin:umkm:{owner.person_id}")
        nama = owner.nama_usaha if rng.random() < 0.85 else f"{owner.nama_usaha} {rng.choice(umkm.NAME_WORDS)}"
        out.append(_permit(pop, rng, kelurahan, person=pop.persons[owner.person_id], company=False,
                           business=owner.business, nama_usaha=nama, nib=owner.nib, issued=owner.nib_date,
                           umkm_owner=True))
    total = round(PERMITS_CITY * umkm.scale_of(pop))
    rng = random.Random(f"{pop.seed}:izin:others")
    others = max(0, total - len(out))
    # ~15% of all permits are for a badan usaha; UMKM binaan are all perseorangan
    out += _new_permits(pop, rng, others, used, company_share=min(1.0, 0.15 * total / max(1, others)))
    out.sort(key=lambda p: p.row["created_at"])
    return out


# --- database -------------------------------------------------------------------------------------------------------

def _chunks(rows: Sequence[dict], size: int = CHUNK) -> Iterator[Sequence[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _insert(conn: sa.Connection, items: list[_Permit], first_id: int, first_kbli_id: int) -> tuple[list, list]:
    """Insert permits with ids from first_id (and their KBLI rows); returns (izin rows, kbli rows) inserted."""
    izin_rows, kbli_rows = [], []
    kbli_id = first_kbli_id
    for offset, item in enumerate(items):
        izin_id = first_id + offset
        izin_rows.append({"id": izin_id, **item.row})
        for k in item.kbli:
            kbli_rows.append({"id": kbli_id, "izin_id": izin_id, **k})
            kbli_id += 1
    for chunk in _chunks(izin_rows):
        conn.execute(izin_usaha.insert(), chunk)
    for chunk in _chunks(kbli_rows):
        conn.execute(izin_usaha_kbli.insert(), chunk)
    return izin_rows, kbli_rows


def _engine(url: str) -> sa.Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(url)


def render(pop: Population, url: str | None, out: Path) -> dict[str, int]:
    """(Re)create the permit tables at `url` (default: a SQLite file under out/sources) and fill them; the truth
    (izin id -> person id, blank for a badan usaha run by someone outside the population) goes to out/truth."""
    url = url or default_url(out)
    items = permits(pop)
    engine = _engine(url)
    try:
        create_schema(engine, drop=True)
        with engine.begin() as conn:
            izin_rows, kbli_rows = _insert(conn, items, 1, 1)
    finally:
        engine.dispose()
    truth_dir = out / "truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    with (truth_dir / TRUTH_FILE).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "person_id"])
        writer.writerows((row["id"], "" if item.person_id is None else item.person_id)
                         for row, item in zip(izin_rows, items, strict=True))
    return {"izin_usaha": len(izin_rows), "izin_usaha_kbli": len(kbli_rows)}


def _local(at: datetime) -> datetime:
    """The agency's wall-clock time, without zone, to the second."""
    if at.tzinfo is not None:
        at = at.astimezone(AGENCY_TIMEZONE).replace(tzinfo=None)
    return at.replace(microsecond=0)


def _truth_path(url: str) -> Path | None:
    """The truth file next to a default SQLite database (<out>/sources/dpmptsp.sqlite -> <out>/truth)."""
    if not url.startswith("sqlite:///"):
        return None
    db = Path(url.removeprefix("sqlite:///"))
    if db.parent.name != "sources":
        return None
    return db.parent.parent / "truth" / TRUTH_FILE


def apply_changes(url: str, pop: Population, seed: int, at: datetime, new: int, changed: int,
                  truth: Path | None = None) -> dict:
    """The agency at work after the last pull: `new` permits issued and `changed` permits revoked, expired,
    renewed or edited, all with updated_at = `at` (agency local time; an aware `at` is converted).

    The truth of the new permits is appended to `truth` (default: <out>/truth/dpmptsp_izin_usaha.csv when `url` is
    the default SQLite file <out>/sources/dpmptsp.sqlite). Returns counts and the ids touched."""
    at = _local(at)
    rng = random.Random(f"{pop.seed}:izin:changes:{seed}:{at.isoformat()}")
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            used = {nib for (nib,) in conn.execute(sa.select(izin_usaha.c.nib)) if nib}
            max_id = conn.execute(sa.select(sa.func.max(izin_usaha.c.id))).scalar() or 0
            max_kbli = conn.execute(sa.select(sa.func.max(izin_usaha_kbli.c.id))).scalar() or 0
            candidates = conn.execute(
                sa.select(izin_usaha.c.id, izin_usaha.c.status)
                .where(izin_usaha.c.updated_at < at).order_by(izin_usaha.c.id)
            ).all()
            picked = rng.sample(candidates, min(changed, len(candidates)))
            updates, touched_kbli = [], []
            for izin_id, status in sorted(picked):
                values = {"b_id": izin_id, "b_status": status, "b_skala": None}
                if status != "AKTIF":
                    values["b_status"] = "AKTIF"  # renewed / reinstated
                elif rng.random() < 0.75:
                    values["b_status"] = rng.choice(["DICABUT", "KADALUARSA"])
                else:  # an edit that keeps the permit active: the business grew
                    values["b_skala"] = rng.choice(["KECIL", "MENENGAH"])
                updates.append(values)
                if rng.random() < 0.3:
                    touched_kbli.append({"b_id": izin_id})
            if updates:
                conn.execute(
                    izin_usaha.update().where(izin_usaha.c.id == sa.bindparam("b_id")).values(
                        status=sa.bindparam("b_status"),
                        skala_usaha=sa.func.coalesce(sa.bindparam("b_skala", type_=sa.String),
                                                     izin_usaha.c.skala_usaha),
                        updated_at=at,
                    ),
                    updates,
                )
            if touched_kbli:
                conn.execute(
                    izin_usaha_kbli.update().where(izin_usaha_kbli.c.izin_id == sa.bindparam("b_id"))
                    .values(updated_at=at),
                    touched_kbli,
                )
            items = _new_permits(pop, rng, new, used, issued_at=at)
            izin_rows, kbli_rows = _insert(conn, items, max_id + 1, max_kbli + 1)
    finally:
        engine.dispose()
    truth = truth or _truth_path(url)
    if truth is not None and items:
        truth.parent.mkdir(parents=True, exist_ok=True)
        fresh = not truth.exists()
        with truth.open("a", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            if fresh:
                writer.writerow(["id", "person_id"])
            writer.writerows((row["id"], "" if item.person_id is None else item.person_id)
                             for row, item in zip(izin_rows, items, strict=True))
    return {
        "new": len(izin_rows),
        "changed": len(updates),
        "new_kbli": len(kbli_rows),
        "new_ids": [row["id"] for row in izin_rows],
        "changed_ids": [u["b_id"] for u in updates],
    }
