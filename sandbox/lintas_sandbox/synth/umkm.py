"""Diskopindag's view: UMKM binaan workbooks (owners, trainings, cooperative membership, BPR capital loans).

The workbooks look like the ones a kecamatan desk really keeps: title rows, a two-row header with merged cells,
a JUMLAH row, NIKs that Excel turned into numbers (16th digit lost) or that carry a leading apostrophe, dates as
date cells, serial numbers or text, and kelurahan names as the clerk spells them.

`owners(pop)` decides who runs a UMKM and which businesses hold an NIB. It is the single source of truth for those
NIBs: the licensing generator (`lintas_sandbox.synth.izin`) gives each of them a permit with the same NIB.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from lintas import region
from lintas_sandbox.synth import names, noise, second
from lintas_sandbox.synth.population import CITY_RESIDENTS, REFERENCE_DATE, Person, Population

OWNERS_CITY = 12_000  # UMKM binaan at city scale
YEARS = (2025, 2026)
EXCEL_EPOCH = date(1899, 12, 30)


@dataclass(frozen=True, slots=True)
class Business:
    """A kind of business: its OSS KBLI (2020) activity, a free-text sector and name patterns."""

    kbli: str
    nama_kegiatan: str
    skala_risiko: str  # the usual OSS-RBA risk level of the activity
    sektor: tuple[str, ...]  # how Diskopindag clerks write the sector
    patterns: tuple[str, ...]  # business names; {o} is the owner part (BU SITI, BAROKAH, ...)
    related: tuple[str, ...] = ()  # further KBLI a permit often lists with this one
    umkm_weight: int = 0  # how common among UMKM binaan (0: only larger, licensed businesses)
    permit_weight: int = 1


BUSINESSES: tuple[Business, ...] = (
    Business("56102", "Rumah/Warung Makan", "RENDAH", ("KULINER", "MAKANAN DAN MINUMAN"),
             ("WARUNG MAKAN {o}", "DEPOT {o}", "WARUNG {o}", "NASI PECEL {o}", "BAKSO {o}"), ("56103",), 14, 10),
    Business("56103", "Kedai Makanan", "RENDAH", ("KULINER", "MAKANAN"),
             ("KEDAI {o}", "AYAM GEPREK {o}", "CWIE MIE {o}"), ("56102", "56304"), 8, 6),
    Business("56104", "Penyediaan Makanan Keliling/Tempat Tidak Tetap", "RENDAH", ("KULINER", "PKL"),
             ("BAKSO MALANG {o}", "CILOK {o}", "TAHU CAMPUR {o}"), (), 6, 3),
    Business("56303", "Rumah Minum/Kafe", "MENENGAH RENDAH", ("KULINER", "MINUMAN"),
             ("KEDAI KOPI {o}", "KAFE {o}", "KOPI {o}"), ("56304", "56103"), 5, 5),
    Business("56304", "Kedai Minuman", "RENDAH", ("MINUMAN", "KULINER"),
             ("ES DAWET {o}", "JUS {o}", "ES TEH {o}"), (), 3, 2),
    Business("10794", "Industri Kerupuk, Keripik, Peyek dan Sejenisnya", "MENENGAH RENDAH",
             ("MAKANAN OLAHAN", "INDUSTRI MAKANAN", "KERIPIK"),
             ("KRIPIK TEMPE SANAN {o}", "KERIPIK {o}", "KERIPIK APEL {o}", "PEYEK {o}"), ("47112",), 12, 3),
    Business("10792", "Industri Kue Basah", "MENENGAH RENDAH", ("MAKANAN OLAHAN", "KUE"),
             ("KUE BASAH {o}", "JAJAN PASAR {o}", "KUE {o}"), ("10710",), 7, 2),
    Business("10710", "Industri Produk Roti dan Kue", "MENENGAH RENDAH", ("MAKANAN OLAHAN", "BAKERY"),
             ("ROTI {o}", "BAKERY {o}", "KUE KERING {o}"), ("10792", "47241"), 6, 2),
    Business("10391", "Industri Tempe Kedelai", "MENENGAH RENDAH", ("MAKANAN OLAHAN", "TEMPE"),
             ("TEMPE {o}", "PENGRAJIN TEMPE {o}"), ("10794",), 5, 1),
    Business("10392", "Industri Tahu Kedelai", "MENENGAH RENDAH", ("MAKANAN OLAHAN", "TAHU"),
             ("TAHU {o}", "PABRIK TAHU {o}"), (), 3, 1),
    Business("10750", "Industri Makanan dan Masakan Olahan", "MENENGAH RENDAH", ("MAKANAN OLAHAN", "FROZEN FOOD"),
             ("FROZEN FOOD {o}", "DIMSUM {o}", "SAMBAL {o}"), ("56103",), 5, 2),
    Business("14111", "Industri Pakaian Jadi (Konveksi) dari Tekstil", "MENENGAH RENDAH", ("FASHION", "KONVEKSI"),
             ("KONVEKSI {o}", "{o} COLLECTION"), ("14120", "47711"), 5, 3),
    Business("14120", "Penjahitan dan Pembuatan Pakaian Sesuai Pesanan", "RENDAH", ("FASHION", "JASA JAHIT"),
             ("PENJAHIT {o}", "TAILOR {o}", "JAHIT {o}"), ("14111",), 5, 2),
    Business("13134", "Industri Batik", "MENENGAH RENDAH", ("FASHION", "KERAJINAN", "BATIK"),
             ("BATIK {o}", "BATIK MALANGAN {o}"), ("47711",), 3, 1),
    Business("16293", "Industri Kerajinan Ukiran dari Kayu Bukan Mebeller", "RENDAH", ("KERAJINAN", "KRIYA"),
             ("TOPENG MALANGAN {o}", "KERAJINAN {o}", "UKIR {o}"), (), 3, 1),
    Business("47112", "Perdagangan Eceran Berbagai Macam Barang yang Utamanya Makanan, Minuman atau Tembakau "
                      "Bukan di Minimarket/Supermarket/Hypermarket (Tradisional)", "RENDAH",
             ("PERDAGANGAN", "TOKO KELONTONG", "SEMBAKO"),
             ("TOKO {o}", "TOKO KELONTONG {o}", "UD {o}", "TOKO SEMBAKO {o}"), ("47241", "47214"), 8, 14),
    Business("47711", "Perdagangan Eceran Pakaian", "RENDAH", ("PERDAGANGAN", "FASHION"),
             ("BUTIK {o}", "{o} FASHION", "TOKO BAJU {o}"), ("47712",), 3, 5),
    Business("96200", "Aktivitas Binatu", "RENDAH", ("JASA", "LAUNDRY"),
             ("LAUNDRY {o}", "{o} LAUNDRY KILOAN"), (), 4, 4),
    Business("96112", "Aktivitas Salon Kecantikan", "RENDAH", ("JASA", "SALON"),
             ("SALON {o}", "{o} BEAUTY"), ("96111",), 3, 3),
    Business("45407", "Reparasi dan Perawatan Sepeda Motor", "RENDAH", ("JASA", "BENGKEL"),
             ("BENGKEL {o}", "{o} MOTOR", "BENGKEL {o} MOTOR"), ("45405",), 3, 4),
    Business("82190", "Aktivitas Fotokopi, Penyiapan Dokumen dan Aktivitas Khusus Penunjang Kantor Lainnya",
             "RENDAH", ("JASA", "FOTOKOPI"), ("FOTOCOPY {o}", "{o} PRINTING"), ("47611",), 1, 3),
    Business("47111", "Perdagangan Eceran Berbagai Macam Barang yang Utamanya Makanan, Minuman atau Tembakau "
                      "di Minimarket/Supermarket/Hypermarket", "RENDAH", ("PERDAGANGAN", "RITEL"),
             ("MINIMARKET {o}", "{o} MART"), ("47112",), 0, 3),
    Business("56101", "Restoran", "MENENGAH RENDAH", ("KULINER",),
             ("RESTORAN {o}", "RUMAH MAKAN {o}"), ("56303",), 0, 3),
    Business("41011", "Konstruksi Gedung Hunian", "MENENGAH TINGGI", ("KONSTRUKSI",),
             ("{o} KONSTRUKSI", "{o} BANGUN"), ("43300", "68111"), 0, 2),
    Business("68111", "Real Estat yang Dimiliki Sendiri atau Disewa", "MENENGAH TINGGI", ("PROPERTI",),
             ("{o} PROPERTI", "{o} LAND"), ("41011",), 0, 2),
    Business("55130", "Hotel Melati", "MENENGAH TINGGI", ("AKOMODASI",),
             ("HOTEL {o}", "GUEST HOUSE {o}", "HOMESTAY {o}"), ("56101",), 0, 1),
    Business("62010", "Aktivitas Pemrograman Komputer", "RENDAH", ("TEKNOLOGI",),
             ("{o} DIGITAL", "{o} SOFTWARE"), ("63122",), 0, 1),
)
EXTRA_KBLI = {  # KBLI that appear only as a permit's further activity
    "47241": ("Perdagangan Eceran Roti, Kue Kering, Serta Kue Basah dan Sejenisnya", "RENDAH"),
    "47214": ("Perdagangan Eceran Makanan Lainnya", "RENDAH"),
    "47712": ("Perdagangan Eceran Perlengkapan Pakaian", "RENDAH"),
    "96111": ("Aktivitas Pangkas Rambut", "RENDAH"),
    "45405": ("Perdagangan Eceran Suku Cadang dan Aksesori Sepeda Motor", "RENDAH"),
    "47611": ("Perdagangan Eceran Buku", "RENDAH"),
    "43300": ("Penyelesaian Konstruksi Bangunan", "MENENGAH RENDAH"),
    "63122": ("Portal Web dan/atau Platform Digital dengan Tujuan Komersial", "RENDAH"),
}
KBLI_BY_CODE = {b.kbli: b for b in BUSINESSES}

PELATIHAN = (
    "PELATIHAN PENGEMASAN PRODUK", "PELATIHAN DIGITAL MARKETING", "PELATIHAN MANAJEMEN KEUANGAN UMKM",
    "PELATIHAN PENGOLAHAN PANGAN", "PELATIHAN SERTIFIKASI HALAL", "PELATIHAN KEAMANAN PANGAN (PIRT)",
    "PELATIHAN FOTOGRAFI PRODUK", "PELATIHAN PEMBUATAN KUE", "PELATIHAN MENJAHIT", "PELATIHAN BATIK TULIS",
    "PELATIHAN BARISTA", "PELATIHAN PENDAMPINGAN NIB (OSS RBA)", "PELATIHAN KEWIRAUSAHAAN",
    "PELATIHAN E-COMMERCE / MARKETPLACE", "PELATIHAN PEMBUKUAN SEDERHANA",
)
NAME_WORDS = ("BAROKAH", "BERKAH", "SUMBER REJEKI", "MAKMUR", "JAYA", "SEJAHTERA", "MANDIRI", "ANUGERAH",
              "SRI REJEKI", "LANCAR JAYA", "BERKAH ABADI", "MEKAR SARI", "SINAR", "CAHAYA", "AREMA", "NDALEM",
              "MBOK DE", "CAK", "TUGU", "IJEN", "KAYUTANGAN", "BROMO", "SEMERU", "BUMI ARJUNO")
KOPERASI_KINDS = ("KOPERASI SERBA USAHA", "KOPERASI SIMPAN PINJAM", "KOPERASI WANITA", "KOPERASI KONSUMEN",
                  "KOPERASI PRODUSEN", "KSU", "KSP", "KOPWAN")
LOAN_MILLIONS = (5, 5, 10, 10, 10, 15, 20, 25, 30, 50, 75, 100)

# Workbook layout: (label, group) in column order; a group label is merged over its columns on the upper row
COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("NO", None), ("NAMA PEMILIK", None), ("NIK", None), ("JENIS KELAMIN", None), ("TANGGAL LAHIR", None),
    ("ALAMAT", None), ("RT/RW", None), ("KELURAHAN", None), ("KECAMATAN", None), ("NAMA USAHA", None),
    ("SEKTOR", None), ("NIB", None), ("NAMA KOPERASI", "KOPERASI"), ("NOMOR INDUK KOPERASI", "KOPERASI"),
    ("JENIS PELATIHAN", "PELATIHAN"), ("TANGGAL PELATIHAN", "PELATIHAN"), ("PINJAMAN MODAL BPR", "PEMBIAYAAN"),
    ("NILAI PINJAMAN (Rp)", "PEMBIAYAAN"),
)
WIDTHS = (5, 28, 20, 10, 13, 32, 10, 16, 15, 28, 18, 15, 28, 20, 34, 13, 11, 16)


@dataclass(frozen=True, slots=True)
class Koperasi:
    name: str
    nomor_induk: str  # Nomor Induk Koperasi: the cooperative's id, 16 digits, NOT a person NIK


@dataclass(slots=True)
class Owner:
    """A UMKM binaan: a true person, their business, and what Diskopindag did with them."""

    person_id: int
    business: Business
    nama_usaha: str
    nib: str | None  # 13 digits when the business is licensed (then it holds a DPMPTSP permit with this NIB)
    nib_date: date | None
    koperasi: Koperasi | None
    loan: int | None  # rupiah, when a BPR capital loan was arranged
    trainings: list[tuple[str, date]] = field(default_factory=list)


def age_on(person: Person, day: date = REFERENCE_DATE) -> int:
    b = person.birth_date
    return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


def scale_of(pop: Population) -> float:
    return len(pop.persons) / CITY_RESIDENTS


def owner_part(person: Person, rng: random.Random) -> str:
    """The personal bit of a small business name: BU SITI, PAK AGUS, BAROKAH, SARI RAHAYU ..."""
    first = person.name.split()[0].upper()
    form = rng.random()
    if form < 0.35:
        return f"{'BU' if person.sex == 'P' else 'PAK'} {first}"
    if form < 0.55:
        return first
    if form < 0.65:
        return f"{first} {rng.choice(names.SECOND).upper()}"
    return rng.choice(NAME_WORDS)


def business_name(business: Business, part: str, rng: random.Random) -> str:
    return rng.choice(business.patterns).format(o=part)


def make_nib(rng: random.Random, issued: date, used: set[str]) -> str:
    """A 13-digit OSS NIB, unique within `used` (which it extends). OSS 1.1 (before 2021) and OSS-RBA numbers."""
    prefix = "8120" if issued.year < 2021 else "9120"
    while True:
        nib = f"{prefix}{rng.randrange(10**9):09d}"
        if nib not in used:
            used.add(nib)
            return nib


def nib_issue_date(rng: random.Random) -> date:
    """When a micro business got its NIB: mostly after OSS-RBA (2021) and the 2022-2024 outreach drives."""
    year = rng.choices(range(2019, 2027), weights=[4, 5, 10, 16, 20, 20, 15, 10])[0]
    last = min(date(year, 12, 31), REFERENCE_DATE - timedelta(days=1))
    start = date(year, 1, 2)
    return start + timedelta(days=rng.randrange((last - start).days + 1))


def koperasi_list(pop: Population) -> list[Koperasi]:
    rng = random.Random(f"{pop.seed}:umkm:koperasi")
    out, seen = [], set()
    while len(out) < 48:
        name = f"{rng.choice(KOPERASI_KINDS)} {rng.choice(NAME_WORDS)}"
        if rng.random() < 0.3:
            name += f" {rng.choice(['MALANG', 'ARTHA', 'MULIA', 'UTAMA'])}"
        if name in seen:
            continue
        seen.add(name)
        kec = rng.randint(1, 5)
        registered = date(rng.randint(1995, 2024), rng.randint(1, 12), rng.randint(1, 28))
        kabkota = region.kabkota_digits()[kec % len(region.kabkota_digits())]  # registered in a kab/kota served
        out.append(Koperasi(name, f"{kabkota}{kec:02d}{registered:%d%m%y}{rng.randint(1, 9):04d}"))
    return out


def training_sessions(pop: Population) -> dict[int, list[tuple[str, date]]]:
    """Per year, the training sessions held: many owners share a session (and so a date)."""
    rng = random.Random(f"{pop.seed}:umkm:sessions")
    sessions: dict[int, list[tuple[str, date]]] = {}
    for year in YEARS:
        last = date(year, 12, 15) if year < REFERENCE_DATE.year else REFERENCE_DATE - timedelta(days=3)
        span = (last - date(year, 2, 1)).days
        sessions[year] = sorted(
            ((jenis, date(year, 2, 1) + timedelta(days=rng.randrange(span)))
             for jenis in PELATIHAN for _ in range(rng.randint(2, 6))),
            key=lambda s: s[1],
        )
    return sessions


_DESIL_WEIGHT = {1: 2.0, 2: 2.0, 3: 1.8, 4: 1.6, 5: 1.3, 6: 1.1, 7: 0.9, 8: 0.7, 9: 0.5, 10: 0.4}


def owners(pop: Population) -> list[Owner]:
    """Who is a UMKM binaan (adults 20-65, more often in poorer households) and what their business is.

    Deterministic for a population; the single source of truth for the NIBs that the permit database shares."""
    eligible = [p for p in pop.persons if 20 <= age_on(p) <= 65]
    weights = [_DESIL_WEIGHT[pop.households[p.household_id].desil] for p in eligible]
    total = sum(weights) or 1.0
    target = OWNERS_CITY * scale_of(pop)
    pick = random.Random(f"{pop.seed}:umkm:owners")
    chosen = [p for p, w in zip(eligible, weights, strict=True) if pick.random() < target * w / total]
    koperasi = koperasi_list(pop)
    sessions = training_sessions(pop)
    umkm_kinds = [b for b in BUSINESSES if b.umkm_weight]
    used_nibs: set[str] = set()
    out = []
    for p in chosen:
        rng = random.Random(f"{pop.seed}:umkm:owner:{p.person_id}")
        business = rng.choices(umkm_kinds, weights=[b.umkm_weight for b in umkm_kinds])[0]
        nama_usaha = business_name(business, owner_part(p, rng), rng)
        licensed = rng.random() < 0.40
        nib_date = nib_issue_date(rng) if licensed else None
        nib = make_nib(rng, nib_date, used_nibs) if nib_date else None
        member = rng.choice(koperasi) if rng.random() < 0.20 else None
        loan = rng.choice(LOAN_MILLIONS) * 1_000_000 if rng.random() < 0.15 else None
        year = rng.choice(YEARS)
        first = rng.choice(sessions[year])
        trainings = [first]
        if rng.random() < 0.10:  # a second training, possibly in the other workbook's year
            later = [s for y in YEARS for s in sessions[y] if s[1] > first[1] and s[0] != first[0]]
            if later:
                trainings.append(rng.choice(later))
        out.append(Owner(p.person_id, business, nama_usaha, nib, nib_date, member, loan, trainings))
    return out


# --- clerk habits ---------------------------------------------------------------------------------------------------

def kelurahan_spelling(name: str, rng: random.Random) -> str:
    """Diskopindag's desk types kelurahan names by hand: upper or title case, run together, hyphen dropped."""
    upper = name.upper()
    r = rng.random()
    if r < 0.70:
        return upper
    if r < 0.80:
        return upper.replace(" ", "").replace("-", "")
    if r < 0.88:
        return upper.replace("-", " ")
    if r < 0.97:
        return name.title()
    return f"KEL. {upper}"


def rt_rw_combined(rt: int, rw: int, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.55:
        return f"{rt:03d}/{rw:03d}"
    if r < 0.80:
        return f"RT.{rt:02d}/RW.{rw:02d}"
    return f"{rt}/{rw}"


def _nik_cell(nik: str, rng: random.Random) -> tuple[object, str | None]:
    """Plain text (~60%), a number cell (~25%: Excel keeps 15 significant digits), or text with a leading '."""
    if not nik:
        return None, None
    r = rng.random()
    if r < 0.60:
        return nik, "@"
    if r < 0.85 and nik.isdigit():
        return int(noise.excel_corrupt(nik)), "0"
    return "'" + nik, "@"


def _date_cell(day: date, rng: random.Random, blank: float) -> tuple[object, str | None]:
    """(value, number format): a date cell, an Excel serial number, dd-mm-yyyy text, or blank."""
    r = rng.random()
    if r < blank:
        return None, None
    r = (r - blank) / (1 - blank)
    if r < 0.72:
        return datetime(day.year, day.month, day.day), rng.choice(["DD-MM-YYYY", "DD/MM/YYYY", "D MMMM YYYY"])
    if r < 0.85:
        return (day - EXCEL_EPOCH).days, "General"
    return day.strftime(rng.choice(["%d-%m-%Y", "%d-%m-%Y", "%d/%m/%Y"])), "@"


def _amount_cell(amount: int, rng: random.Random) -> tuple[object, str | None]:
    dotted = f"{amount:,}".replace(",", ".")
    r = rng.random()
    if r < 0.35:
        return f"Rp {dotted}", "@"
    if r < 0.45:
        return f"Rp. {dotted},-", "@"
    if r < 0.70:
        return dotted, "@"
    return amount, '#,##0'


def _yes_no(flag: bool, rng: random.Random) -> str:
    if rng.random() < 0.9:
        return "YA" if flag else "TIDAK"
    return "Y" if flag else "T"


def _row(pop: Population, owner: Owner, index: int, training: tuple[str, date]) -> list[tuple[object, str | None]]:
    """One data row as (value, number format) per column, with this row's own clerical noise."""
    p = pop.persons[owner.person_id]
    hh = pop.households[p.household_id]
    rng = random.Random(f"{pop.seed}:umkm:row:{owner.person_id}:{index}")
    sex = p.sex if rng.random() < 0.7 else ("LAKI-LAKI" if p.sex == "L" else "PEREMPUAN")
    nib: object = None
    if owner.nib and rng.random() < 0.95:
        nib = owner.nib if rng.random() < 0.88 else int(owner.nib)
    koperasi = owner.koperasi
    no_induk = None
    if koperasi:
        no_induk = koperasi.nomor_induk if rng.random() < 0.8 else "'" + koperasi.nomor_induk
    loan = owner.loan
    if loan:
        amount = _amount_cell(loan, rng)
    else:
        amount = rng.choice([(None, None), (None, None), ("-", "@"), (0, "#,##0")])
    row = [
        (None, None),  # NO: numbered when the sheet is written
        (noise.name_variant(p.name, p.sex, rng).upper() if rng.random() < 0.9 else p.name, None),
        _nik_cell(noise.noisy_nik(p.nik, hh.no_kk, rng), rng),
        (sex, None),
        _date_cell(p.birth_date, rng, blank=0.07),
        (noise.street_address(hh.street, hh.house_number, rng), None),
        (rt_rw_combined(hh.rt, hh.rw, rng), "@"),
        (kelurahan_spelling(hh.kelurahan.name, rng), None),
        (hh.kelurahan.kecamatan_name.upper(), None),
        (owner.nama_usaha if rng.random() < 0.9 else owner.nama_usaha.title(), None),
        (rng.choice(owner.business.sektor), None),
        (nib, "0" if isinstance(nib, int) else "@"),
        (koperasi.name if koperasi else None, None),
        (no_induk, "@"),
        (training[0], None),
        _date_cell(training[1], rng, blank=0.02),
        (_yes_no(loan is not None, rng), None),
        amount,
    ]
    if pop.profile == second.NAME:
        _second_habits(pop.seed, row, p, hh, index)
    return row


def _second_habits(seed: int, row: list, p: Person, hh, index: int) -> None:
    """The second profile's workbook keeper: other typos, the No. KK as NIK, NIKs typed as numbers more often
    (some with 15 digits), dates as serial numbers more often, 'JLN' / 'GG.' / RT-RW inside the street line."""
    rng = second.rng_for(seed, "umkm", p.person_id, index)
    row[1] = (second.name(row[1][0], rng), row[1][1])
    value, _ = row[2]
    if isinstance(value, str):
        text = second.nik(value.lstrip("'"), p.nik, hh.no_kk, rng)
        row[2] = second.nik_cell(text, rng) or (text, "@")
    for column in (4, 15):
        value, _ = row[column]
        if isinstance(value, datetime) and second.date_as_serial(rng):
            row[column] = ((value.date() - EXCEL_EPOCH).days, "General")
    row[5] = (second.street_address(hh.street, hh.house_number, hh.rt, hh.rw, rng), None)


# --- workbooks ------------------------------------------------------------------------------------------------------

_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_BOLD = Font(bold=True)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _write_header(ws, top: int) -> None:
    """Two header rows: single columns merged down over both, groups merged across on the upper row."""
    col = 1
    while col <= len(COLUMNS):
        label, group = COLUMNS[col - 1]
        if group is None:
            ws.cell(top, col, label)
            ws.merge_cells(start_row=top, start_column=col, end_row=top + 1, end_column=col)
            col += 1
            continue
        span = sum(1 for _, g in COLUMNS if g == group)
        ws.cell(top, col, group)
        ws.merge_cells(start_row=top, start_column=col, end_row=top, end_column=col + span - 1)
        for offset in range(span):
            ws.cell(top + 1, col + offset, COLUMNS[col - 1 + offset][0])
        col += span
    for row in (top, top + 1):
        for c in range(1, len(COLUMNS) + 1):
            cell = ws.cell(row, c)
            cell.font, cell.alignment, cell.border = _BOLD, _CENTER, _BOX


def _region_title() -> str:
    """'KOTA MALANG' (the default region), 'KOTA BATU DAN KOTA MALANG' for two."""
    served = [w.nama.upper() for w in region.wilayah() if w.level == 2]
    return " DAN ".join(served)


def _write_sheet(ws, year: int, kecamatan: str, rows: list[list[tuple[object, str | None]]],
                 rng: random.Random) -> list[int]:
    """Title rows, blank row, two-row header, data, maybe a blank row, JUMLAH. Returns the data rows' numbers."""
    width = len(COLUMNS)
    ws.cell(1, 1, f"DATA UMKM BINAAN DISKOPINDAG {_region_title()} TAHUN {year}").font = Font(bold=True, size=13)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    top = 3
    if rng.random() < 0.75:
        ws.cell(2, 1, f"KECAMATAN {kecamatan.upper()}").font = _BOLD
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
        top = 4
    _write_header(ws, top)
    row = top + 2
    if year == YEARS[0]:  # the older template numbers its columns under the header
        for c in range(1, width + 1):
            ws.cell(row, c, f"({c})").alignment = _CENTER
        row += 1
    numbers = []
    for no, values in enumerate(rows, start=1):
        for c, (value, fmt) in enumerate(values, start=1):
            cell = ws.cell(row, c, no if c == 1 else value)
            if fmt and value is not None:
                cell.number_format = fmt
        numbers.append(row)
        row += 1
    if rng.random() < 0.5:
        row += 1
    ws.cell(row, 1, rng.choice(["JUMLAH", "JUMLAH", "JUMLAH TOTAL"])).font = _BOLD
    ws.cell(row, 2, len(rows)).font = _BOLD
    for c, w in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(c)].width = w
    ws.freeze_panes = ws.cell(top + 2, 3)
    return numbers


def _kecamatan_order(pop: Population) -> list[str]:
    seen: dict[str, str] = {}
    for hh in pop.households:
        seen.setdefault(hh.kelurahan.kecamatan_code, hh.kelurahan.kecamatan_name)
    return [seen[code] for code in sorted(seen)]


def entries(pop: Population, owner_list: Iterable[Owner] | None = None) -> dict[int, list[tuple[Owner, int]]]:
    """Workbook year -> (owner, training index) rows, one per training received that year."""
    by_year: dict[int, list[tuple[Owner, int]]] = {y: [] for y in YEARS}
    for owner in owners(pop) if owner_list is None else owner_list:
        for index, (_, day) in enumerate(owner.trainings):
            by_year[day.year].append((owner, index))
    return by_year


def workbook_name(year: int) -> str:
    return f"UMKM_BINAAN_{year}.xlsx"


def render(pop: Population, out: Path) -> dict[str, int]:
    """Write UMKM_BINAAN_<YYYY>.xlsx into out/outbox/diskopindag and the truth (file, sheet, row) into out/truth."""
    outbox = out / "outbox" / "diskopindag"
    truth_dir = out / "truth"
    outbox.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    truth: list[tuple[str, str, int, int]] = []
    kecamatan = _kecamatan_order(pop)
    for year, items in entries(pop).items():
        name = workbook_name(year)
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        sheet_rng = random.Random(f"{pop.seed}:umkm:sheets:{year}")
        total = 0
        for kec in kecamatan:
            sheet_items = [
                (owner, index) for owner, index in items
                if pop.households[pop.persons[owner.person_id].household_id].kelurahan.kecamatan_name == kec
            ]
            # sessions are typed in as they happen: rows follow the training date
            sheet_items.sort(key=lambda item: (item[0].trainings[item[1]][1], item[0].person_id))
            rows = [_row(pop, owner, index, owner.trainings[index]) for owner, index in sheet_items]
            ws = wb.create_sheet(kec.upper())
            numbers = _write_sheet(ws, year, kec, rows, sheet_rng)
            truth.extend((name, ws.title, n, owner.person_id)
                         for n, (owner, _) in zip(numbers, sheet_items, strict=True))
            total += len(rows)
        wb.save(outbox / name)
        counts[name] = total
    with (truth_dir / "diskopindag_umkm.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "sheet", "row_number", "person_id"])
        writer.writerows(truth)
    return counts
