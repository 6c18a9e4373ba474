"""Address standardisation with real-looking Kota Malang cases (all synthetic)."""

import pytest

from lintas.identity.address import parse_rt_rw, region_key, resolve_kecamatan, resolve_kelurahan, standardise_street


@pytest.mark.parametrize("recorded", ["JL. SOEKARNO HATTA NO. 12", "Jalan Sukarno Hatta 12", "JLN SOEKARNO-HATTA NO.12",
                                      "jl sukarno hatta no 12"])
def test_street_forms_meet(recorded):
    street = standardise_street(recorded)
    assert (street.name, street.house_number) == ("sukarno hatta", "12")


def test_street_keeps_letters_of_house_numbers_and_numbered_streets():
    assert standardise_street("JL. MT HARYONO GG 7 NO. 15A").house_number == "15a"
    # the gang (a lane off the street) is left out: one agency records it, another does not
    assert standardise_street("JL. MT HARYONO GG 7 NO. 15A").name == "mt haryono"
    assert standardise_street("JL. MT HARYONO GG. III NO. 15A").name == "mt haryono"
    assert standardise_street("GG. MAWAR NO 3").name == "gg mawar", "a gang that is the whole address stays"
    # RT/RW written into the line belong to their own fields
    assert standardise_street("JL. MT HARYONO NO. 15A RT 03/RW 05") == standardise_street("JLN MT HARYONO NO 15A")
    assert standardise_street(None).name is None


@pytest.mark.parametrize(("recorded", "parsed"), [
    ("005", (5, None)), ("5", (5, None)), ("RT 005", (5, None)), ("005/002", (5, 2)), ("RT.05/RW.02", (5, 2)),
    ("RT 5 RW 2", (5, 2)), ("", (None, None)), (None, (None, None)), ("000", (None, None)),
])
def test_rt_rw_forms(recorded, parsed):
    assert parse_rt_rw(recorded) == parsed


@pytest.mark.parametrize(("recorded", "kecamatan", "code"), [
    ("TLOGOMAS", "LOWOKWARU", "35.73.05.1003"),
    ("Tlogo Mas", None, "35.73.05.1003"),
    ("ORO-ORO DOWO", "KLOJEN", "35.73.02.1008"),
    ("OROORODOWO", None, "35.73.02.1008"),
    ("Kel. Oro Oro Dowo", "Kec. Klojen", "35.73.02.1008"),
    ("KIDUL DALEM", "KLOJEN", "35.73.02.1004"),
    ("35.73.05.1003", None, "35.73.05.1003"),
    ("3573051003", None, "35.73.05.1003"),
    ("TLOGOMSA", "LOWOKWARU", "35.73.05.1003"),  # transposed letters, kecamatan known
    ("BLIMBING", "BLIMBING", "35.73.01.1005"),  # kelurahan and kecamatan share the name
])
def test_kelurahan_resolves_to_kemendagri_code(recorded, kecamatan, code):
    assert resolve_kelurahan(recorded, kecamatan) == code


def test_unknown_or_unsafe_names_stay_unresolved():
    assert resolve_kelurahan("GAMBIR", "KLOJEN") is None  # a Jakarta kelurahan
    assert resolve_kelurahan("TLOGOMSA", None) is None  # typo without a kecamatan: do not guess
    assert resolve_kelurahan(None) is None


def test_kecamatan_and_keys():
    assert resolve_kecamatan("Lowokwaru") == "35.73.05"
    assert resolve_kecamatan("KEC. KEDUNG KANDANG") == "35.73.03"
    assert region_key("Oro-oro Dowo") == region_key("ORO ORO DOWO") == "OROORODOWO"
