"""The region served is configuration (LINTAS_REGION_CODES): one kab/kota, several, or a province."""

import pytest

from lintas import region, settings
from lintas.extract import dtks
from lintas.extract.contract import ContractError
from lintas.identity.address import resolve_kecamatan, resolve_kelurahan
from tests.fixtures.dtks_files import member, write


def _configure(monkeypatch, codes: str | None) -> None:
    if codes is None:
        monkeypatch.delenv("LINTAS_REGION_CODES", raising=False)
    else:
        monkeypatch.setenv("LINTAS_REGION_CODES", codes)
    monkeypatch.delenv("LINTAS_KODE_KABKOTA", raising=False)
    settings.reload()


def test_default_is_kota_malang(monkeypatch):
    _configure(monkeypatch, None)
    assert region.kabkota_codes() == ("35.73",)
    assert (len(region.kecamatan()), len(region.kelurahan())) == (5, 57)
    assert region.dbt_env() == {"LINTAS_DBT_REGION_KABKOTA": "35.73"}


def test_several_kabkota_and_a_province(monkeypatch):
    _configure(monkeypatch, "3579, 35.07,35.73")
    assert region.kabkota_codes() == ("35.07", "35.73", "35.79")
    by_kabkota = {code: sum(1 for w in region.kelurahan() if w.kode.startswith(code + ".")) for code in
                  region.kabkota_codes()}
    assert by_kabkota == {"35.07": 390, "35.73": 57, "35.79": 24}  # Kemendagri 2025: desa and kelurahan
    assert region.gate_parameters()["{region_kabkota_regex}"] == "(3507|3573|3579)"
    _configure(monkeypatch, "35")
    assert len(region.kabkota_codes()) == 38  # Jawa Timur: 29 kabupaten, 9 kota


@pytest.mark.parametrize("codes", ["35.99", "3", "33.74"])
def test_unknown_or_unseeded_regions_are_refused(monkeypatch, codes):
    _configure(monkeypatch, codes)
    with pytest.raises(settings.ConfigurationError, match="LINTAS_REGION_CODES"):
        region.kabkota_codes()


def test_kelurahan_resolve_within_the_configured_region(monkeypatch):
    _configure(monkeypatch, None)
    assert resolve_kelurahan("Tlogomas", "Lowokwaru") == "35.73.05.1003"
    assert resolve_kelurahan("Tulungrejo", "Bumiaji") is None, "Kota Batu is not served"
    _configure(monkeypatch, "35.73,35.79")
    assert resolve_kelurahan("Tlogomas", "Lowokwaru") == "35.73.05.1003"
    assert resolve_kelurahan("Desa Tulungrejo", "Kec. Bumiaji") == "35.79.02.2003"
    assert resolve_kecamatan("JUNREJO") == "35.79.03"
    _configure(monkeypatch, "35.73,35.79,35.07")
    # Tulungrejo is a desa of Kota Batu and twice of Kabupaten Malang: only its kecamatan tells them apart
    assert resolve_kelurahan("Tulungrejo", "Bumiaji") == "35.79.02.2003"
    assert resolve_kelurahan("Tulungrejo") is None


def test_dtks_files_of_every_kabkota_of_the_region_are_read(tmp_path, monkeypatch):
    batu = write(tmp_path, "DTKS_3579_202610.csv", [member(0)])
    _configure(monkeypatch, None)
    with pytest.raises(ContractError, match="3579 in the file name is not this warehouse's region 3573"):
        dtks.read(batu)
    _configure(monkeypatch, "35.73,35.79")
    delivery = dtks.read(batu)
    assert (delivery.kode_kabkota, delivery.period, len(delivery.rows)) == ("35.79", "2026-10", 1)
    assert dtks.read(write(tmp_path, "DTKS_3573_202610.csv", [member(0)])).kode_kabkota == "35.73"
