"""Synthetic Dapodik, UMKM and permit deliveries: seeded, contract-shaped, noisy, with the truth kept apart."""

import csv
import json
import re
import uuid
from collections import Counter
from datetime import UTC, datetime

import openpyxl
import pytest
import sqlalchemy as sa

from lintas.extract import umkm as umkm_reader
from lintas_sandbox.synth import dapodik, izin, population, umkm

SEED = 5
CONTRACT_IZIN = ["id", "nib", "tanggal_terbit", "jenis_pelaku_usaha", "nama_usaha", "nik_penanggung_jawab",
                 "nama_penanggung_jawab", "alamat_usaha", "rt_rw", "kelurahan", "kode_wilayah", "skala_usaha",
                 "status", "created_at", "updated_at"]
CONTRACT_KBLI = ["id", "izin_id", "kbli", "nama_kegiatan", "skala_risiko", "updated_at"]


@pytest.fixture(scope="module")
def pop():
    return population.generate("small", seed=SEED)


@pytest.fixture(scope="module")
def out(pop, tmp_path_factory):
    path = tmp_path_factory.mktemp("agencies")
    counts = {
        "dapodik": dapodik.render(pop, path),
        "umkm": umkm.render(pop, path),
        "izin": izin.render(pop, None, path),
    }
    return path, counts


def _truth(path, name):
    return list(csv.DictReader((path / "truth" / name).open(encoding="utf-8")))


def _students(path):
    return [json.loads(line) for line in (path / "sources" / "dapodik" / "peserta_didik.jsonl").open()]


def _db_rows(path, table):
    engine = sa.create_engine(izin.default_url(path))
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]
    finally:
        engine.dispose()


def _norm(name: str) -> str:
    return re.sub(r"[^A-Z]", "", name.upper().removeprefix("KEL. ").removeprefix("KELURAHAN "))


# --- reproducibility ------------------------------------------------------------------------------------------------

def test_same_seed_same_deliveries_other_seed_differs(pop, out, tmp_path):
    path, counts = out
    again = population.generate("small", seed=SEED)
    assert dapodik.records(again) == dapodik.records(pop)
    assert umkm.render(again, tmp_path) == counts["umkm"]
    assert izin.render(again, None, tmp_path) == counts["izin"]
    assert _db_rows(tmp_path, izin.izin_usaha) == _db_rows(path, izin.izin_usaha)
    assert _truth(tmp_path, "diskopindag_umkm.csv") == _truth(path, "diskopindag_umkm.csv")
    dapodik.render(again, tmp_path)
    jsonl = "sources/dapodik/peserta_didik.jsonl"
    assert (tmp_path / jsonl).read_bytes() == (path / jsonl).read_bytes()
    other = population.generate("small", seed=SEED + 1)
    assert {r["peserta_didik_id"] for r in dapodik.records(other)}.isdisjoint(
        r["peserta_didik_id"] for r in _students(path))


# --- Dapodik --------------------------------------------------------------------------------------------------------

def test_dapodik_records_follow_the_contract(out):
    path, counts = out
    rows = _students(path)
    assert counts["dapodik"] == {"peserta_didik.jsonl": len(rows)}
    ids = set()
    for r in rows:
        assert tuple(r) == dapodik.FIELDS
        ids.add(str(uuid.UUID(r["peserta_didik_id"])))
        assert re.fullmatch(r"\d{10}", r["nisn"]) and re.fullmatch(r"\d{8}", r["npsn"])
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["tanggal_lahir"])
        assert r["jenis_kelamin"] in {"L", "P", "LAKI-LAKI", "PEREMPUAN"}
        assert r["jenjang"] in {"PAUD", "SD", "SMP", "SMA", "SMK"} and isinstance(r["tingkat_kelas"], int)
        assert all(isinstance(r[k], bool) for k in ("penerima_kip", "layak_pip", "deleted"))
        assert r["no_kip"] is None or (r["penerima_kip"] and re.fullmatch(r"[A-Z0-9]{6}", r["no_kip"]))
        stamp = datetime.fromisoformat(r["updated_at"])
        assert stamp.utcoffset().total_seconds() == 7 * 3600 and stamp.microsecond == 0
        assert datetime(2026, 7, 1) <= stamp.replace(tzinfo=None) <= datetime(2026, 10, 31, 23, 59, 59)
    assert len(ids) == len(rows), "peserta_didik_id is unique"
    assert len({r["nisn"] for r in rows}) == len(rows), "NISN is unique"
    assert [(r["updated_at"], r["peserta_didik_id"]) for r in rows] == sorted(
        (r["updated_at"], r["peserta_didik_id"]) for r in rows)
    assert Counter(r["updated_at"] for r in rows).most_common(1)[0][1] >= 20, "batch syncs share a timestamp"
    assert 0.003 < sum(r["deleted"] for r in rows) / len(rows) < 0.05


def test_dapodik_covers_school_age_children_with_kip_for_the_poor(pop, out):
    path, _ = out
    rows = _students(path)
    truth = {t["peserta_didik_id"]: int(t["person_id"]) for t in _truth(path, "disdik_peserta_didik.csv")}
    assert set(truth) == {r["peserta_didik_id"] for r in rows}
    assert not list((path / "sources").rglob("*truth*")), "the truth is never with the source data"
    school_age = sum(1 for p in pop.persons if 4 <= umkm.age_on(p) <= 18)
    assert 0.45 < len(rows) / school_age < 0.75  # ~140k of ~238k at city scale
    assert len(set(truth.values())) == len(truth)
    kip = Counter()
    for r in rows:
        person = pop.persons[truth[r["peserta_didik_id"]]]
        age = umkm.age_on(person)
        low, high = {"PAUD": (4, 6), "SD": (7, 12), "SMP": (13, 15), "SMA": (16, 18), "SMK": (16, 18)}[r["jenjang"]]
        assert low <= age <= high
        grades = {"PAUD": {0}, "SD": set(range(1, 7)), "SMP": {7, 8, 9}}.get(r["jenjang"], {10, 11, 12})
        assert r["tingkat_kelas"] in grades
        if r["jenjang"] != "PAUD":
            kip[(pop.households[person.household_id].desil <= 4, r["penerima_kip"])] += 1
    poor_share = kip[(True, True)] / (kip[(True, True)] + kip[(True, False)])
    rich_share = kip[(False, True)] / (kip[(False, True)] + kip[(False, False)])
    assert 0.4 < poor_share < 0.8 and rich_share < 0.06


def test_dapodik_noise_exists_but_most_values_are_right(pop, out):
    path, _ = out
    rows = _students(path)
    truth = {t["peserta_didik_id"]: pop.persons[int(t["person_id"])] for t in _truth(path, "disdik_peserta_didik.csv")}
    nik_ok = Counter(r["nik"] == truth[r["peserta_didik_id"]].nik for r in rows)
    assert 0.85 < nik_ok[True] / len(rows) < 0.99
    assert any(r["nik"] == "" for r in rows)
    moved = sum(_norm(r["kelurahan"]) != _norm(pop.households[truth[r["peserta_didik_id"]].household_id].kelurahan.name)
                for r in rows)
    assert 0.005 < moved / len(rows) < 0.08
    assert any(r["kelurahan"] not in {k.name.upper() for k in population.load_kelurahan()} for r in rows)
    titles = re.compile(r"(^|\s)(H|HJ|DRS|DRA|IR|KH)\.|S\.PD|S\.E\.|S\.H\.|A\.MD|S\.KOM")
    assert not [r["nama"] for r in rows if titles.search(r["nama"])], "children carry no adult titles"
    assert any(r["nama_ibu_kandung"] == "" for r in rows)


# --- UMKM workbooks -------------------------------------------------------------------------------------------------

def test_umkm_workbooks_layout(pop, out):
    path, counts = out
    assert set(counts["umkm"]) == {"UMKM_BINAAN_2025.xlsx", "UMKM_BINAAN_2026.xlsx"}
    truth = _truth(path, "diskopindag_umkm.csv")
    kecamatan = {k.kecamatan_name.upper() for k in population.load_kelurahan()}
    for name, rows in counts["umkm"].items():
        wb = openpyxl.load_workbook(path / "outbox" / "diskopindag" / name)
        assert set(wb.sheetnames) == kecamatan
        assert sum(1 for t in truth if t["file"] == name) == rows
        for ws in wb.worksheets:
            assert str(ws["A1"].value).startswith("DATA UMKM BINAAN DISKOPINDAG KOTA MALANG TAHUN")
            header = next(r for r in range(1, 8) if ws.cell(r, 1).value == "NO")
            merged = {str(m) for m in ws.merged_cells.ranges}
            assert f"A{header}:A{header + 1}" in merged and f"C{header}:C{header + 1}" in merged
            assert {f"M{header}:N{header}", f"O{header}:P{header}", f"Q{header}:R{header}"} <= merged
            assert [ws.cell(header, c).value for c in (13, 15, 17)] == ["KOPERASI", "PELATIHAN", "PEMBIAYAAN"]
            assert ws.cell(header + 1, 14).value == "NOMOR INDUK KOPERASI"
            assert ws.cell(header + 1, 18).value == "NILAI PINJAMAN (Rp)"
            data_rows = [int(t["row_number"]) for t in truth if t["file"] == name and t["sheet"] == ws.title]
            total = [r for r in range(1, ws.max_row + 1) if str(ws.cell(r, 1).value or "").startswith("JUMLAH")]
            assert len(total) == 1 and total[0] > max(data_rows, default=header + 1)
            assert ws.cell(total[0], 2).value == len(data_rows)
            for n, row in enumerate(sorted(data_rows), start=1):
                assert ws.cell(row, 1).value == n and ws.cell(row, 2).value


def test_umkm_cells_are_as_messy_as_real_ones(pop, out):
    path, _ = out
    truth = _truth(path, "diskopindag_umkm.csv")
    books = {n: openpyxl.load_workbook(path / "outbox" / "diskopindag" / n) for n in {t["file"] for t in truth}}
    kinds = Counter()
    right = 0
    for t in truth:
        ws = books[t["file"]][t["sheet"]]
        row = int(t["row_number"])
        value = ws.cell(row, 3).value
        true_nik = pop.persons[int(t["person_id"])].nik
        if isinstance(value, int):
            kinds["number"] += 1
            digits = str(value)
            assert len(digits) == 16 and digits.endswith("0") and len(digits.rstrip("0")) <= 15
            right += digits[:15] == true_nik[:15]
        elif isinstance(value, str) and value.startswith("'"):
            kinds["apostrophe"] += 1
            right += value[1:] == true_nik
        elif value is None:
            kinds["blank"] += 1
        else:
            kinds["text"] += 1
            right += value == true_nik
        kinds[("birth", type(ws.cell(row, 5).value).__name__)] += 1
        assert ws.cell(row, 7).value and re.fullmatch(r"(RT\.)?\d{1,3}/(RW\.)?\d{1,3}", ws.cell(row, 7).value)
    n = len(truth)
    assert 0.45 < kinds["text"] / n < 0.75 and 0.12 < kinds["number"] / n < 0.38 and kinds["apostrophe"] > 0
    assert 0.88 < right / n < 0.995
    assert kinds[("birth", "datetime")] > kinds[("birth", "int")] > 0 and kinds[("birth", "str")] > 0
    ids = Counter(t["person_id"] for t in truth)
    assert 1 < sum(1 for c in ids.values() if c > 1) < 0.25 * len(ids), "some owners had a second training"
    target = umkm.OWNERS_CITY * umkm.scale_of(pop)
    assert 0.5 * target < len(ids) < 1.6 * target


def test_umkm_workbooks_pass_the_extract_contract(out):
    path, counts = out
    for name, rows in counts["umkm"].items():
        delivery = umkm_reader.read(path / "outbox" / "diskopindag" / name)
        assert len(delivery.rows) == rows and delivery.errors == []


# --- permit database ------------------------------------------------------------------------------------------------

def test_permit_database_has_the_contract_tables(pop, out):
    path, counts = out
    engine = sa.create_engine(izin.default_url(path))
    inspector = sa.inspect(engine)
    assert [c["name"] for c in inspector.get_columns("izin_usaha")] == CONTRACT_IZIN
    assert [c["name"] for c in inspector.get_columns("izin_usaha_kbli")] == CONTRACT_KBLI
    assert any(ix["column_names"] == ["updated_at"] for ix in inspector.get_indexes("izin_usaha"))
    engine.dispose()
    permits = _db_rows(path, izin.izin_usaha)
    kbli = _db_rows(path, izin.izin_usaha_kbli)
    assert counts["izin"] == {"izin_usaha": len(permits), "izin_usaha_kbli": len(kbli)}
    target = izin.PERMITS_CITY * umkm.scale_of(pop)
    assert 0.9 * target < len(permits) < 1.1 * target
    assert 0.08 < sum(p["jenis_pelaku_usaha"] == "01" for p in permits) / len(permits) < 0.25
    assert len({p["nib"] for p in permits}) == len(permits)
    for p in permits:
        assert re.fullmatch(r"\d{13}", p["nib"]) and p["jenis_pelaku_usaha"] in {"01", "02"}
        assert p["kode_wilayah"] is None or re.fullmatch(r"3573\d{6}", p["kode_wilayah"])
        assert p["skala_usaha"] in {"MIKRO", "KECIL", "MENENGAH", "BESAR"}
        assert p["status"] in {"AKTIF", "DICABUT", "KADALUARSA"}
        assert p["updated_at"] >= p["created_at"] and p["created_at"].date() == p["tanggal_terbit"]
        assert 2019 <= p["tanggal_terbit"].year <= 2026
    assert Counter(p["updated_at"] for p in permits).most_common(1)[0][1] > 5, "batch jobs share a timestamp"
    per_permit = Counter(k["izin_id"] for k in kbli)
    assert set(per_permit) == {p["id"] for p in permits} and max(per_permit.values()) <= 3
    assert all(re.fullmatch(r"\d{5}", k["kbli"]) for k in kbli)
    assert {k["skala_risiko"] for k in kbli} <= {"RENDAH", "MENENGAH RENDAH", "MENENGAH TINGGI", "TINGGI"}


def test_permit_truth_and_nik_noise(pop, out):
    path, _ = out
    permits = {p["id"]: p for p in _db_rows(path, izin.izin_usaha)}
    truth = {int(t["id"]): t["person_id"] for t in _truth(path, "dpmptsp_izin_usaha.csv")}
    assert set(truth) == set(permits)
    perorangan = [(permits[i], pop.persons[int(pid)]) for i, pid in truth.items()
                  if permits[i]["jenis_pelaku_usaha"] == "02"]
    assert all(truth[i] for i, p in permits.items() if p["jenis_pelaku_usaha"] == "02")
    right = sum(p["nik_penanggung_jawab"] == person.nik for p, person in perorangan)
    assert 0.9 < right / len(perorangan) < 0.995
    companies = [i for i, p in permits.items() if p["jenis_pelaku_usaha"] == "01"]
    assert any(truth[i] == "" for i in companies) and any(not permits[i]["nik_penanggung_jawab"] for i in companies)


def test_umkm_nibs_are_in_the_permit_database(pop, out):
    path, _ = out
    permits = {p["nib"]: p for p in _db_rows(path, izin.izin_usaha)}
    truth = {int(t["id"]): t["person_id"] for t in _truth(path, "dpmptsp_izin_usaha.csv")}
    owners = [o for o in umkm.owners(pop) if o.nib]
    assert owners
    for owner in owners:
        assert truth[permits[owner.nib]["id"]] == str(owner.person_id)
    workbook_nibs = Counter()
    for book in (path / "outbox" / "diskopindag").glob("UMKM_BINAAN_*.xlsx"):
        wb = openpyxl.load_workbook(book, read_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                if len(row) > 11 and isinstance(row[0], int) and row[11] is not None:
                    workbook_nibs[type(row[11]).__name__] += 1
                    assert str(row[11]) in permits, "a workbook NIB without a permit"
        wb.close()
    assert workbook_nibs["str"] > workbook_nibs["int"] > 0


def test_apply_changes_touches_rows_at_the_given_time(pop, tmp_path):
    izin.render(pop, None, tmp_path)
    url = izin.default_url(tmp_path)
    before = {p["id"]: p for p in _db_rows(tmp_path, izin.izin_usaha)}
    at = datetime(2026, 11, 2, 9, 0, 0)
    result = izin.apply_changes(url, pop, seed=1, at=at, new=7, changed=11)
    assert result["new"] == 7 and result["changed"] == 11
    after = {p["id"]: p for p in _db_rows(tmp_path, izin.izin_usaha)}
    touched = {i for i, p in after.items() if p["updated_at"] == at}
    assert touched == set(result["new_ids"]) | set(result["changed_ids"]) and len(touched) == 18
    assert min(result["new_ids"]) > max(before)
    for i in result["changed_ids"]:
        assert (after[i]["status"], after[i]["skala_usaha"]) != (before[i]["status"], before[i]["skala_usaha"])
        assert after[i]["created_at"] == before[i]["created_at"]
    new_kbli = [k for k in _db_rows(tmp_path, izin.izin_usaha_kbli) if k["izin_id"] in set(result["new_ids"])]
    assert new_kbli and all(k["updated_at"] == at for k in new_kbli)
    truth = {int(t["id"]) for t in _truth(tmp_path, "dpmptsp_izin_usaha.csv")}
    assert truth == set(after)
    # an aware time is the agency's local wall clock
    later = izin.apply_changes(url, pop, seed=2, at=datetime(2026, 11, 3, 2, 0, tzinfo=UTC), new=1, changed=0)
    assert _db_rows(tmp_path, izin.izin_usaha)[-1]["updated_at"] == datetime(2026, 11, 3, 9, 0)
    assert later["new_ids"] == [max(after) + 1]
