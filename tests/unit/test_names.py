"""Name normalisation with real-looking Indonesian cases (all synthetic)."""

import pytest

from lintas.identity.names import normalise


@pytest.mark.parametrize(("recorded", "canonical"), [
    ("MUHAMMAD RIZKI SANTOSO", "muhammad rizki santoso"),
    ("Moch. Rizki Santoso", "muhammad rizki santoso"),
    ("MOCHAMMAD RIZKI  SANTOSO", "muhammad rizki santoso"),
    ("M. RIZKI SANTOSO", "muhammad rizki santoso"),
    ("Muh. Rizki Santoso", "muhammad rizki santoso"),
    ("M.Rizki Santoso", "muhammad rizki santoso"),
    ("ACHMAD FAUZI", "ahmad fauzi"),
    ("Abd. Rohman", "abdul rohman"),
    ("SOEKARNO", "sukarno"),
    ("DJOKO SOETRISNO", "joko sutrisno"),
    ("Tjahjo Kumolo", "cahyo kumolo"),
    ("NOER HASANAH", "nur hasanah"),
    ("MA'RUF AMIN", "maruf amin"),
])
def test_variants_meet_in_one_canonical_form(recorded, canonical):
    assert normalise(recorded).canonical == canonical


@pytest.mark.parametrize(("recorded", "canonical", "titles"), [
    ("H. BUDI SANTOSO", "budi santoso", ("h",)),
    ("Hj. Siti Aminah", "siti aminah", ("hj",)),
    ("DRS. H. AGUS SALIM", "agus salim", ("drs", "h")),
    ("BUDI SANTOSO, S.Pd.", "budi santoso", ("spd",)),
    ("Dewi Lestari, S.E., M.M.", "dewi lestari", ("se", "mm")),
    ("KH. HASYIM", "hasyim", ("kh",)),
])
def test_titles_move_to_their_own_field(recorded, canonical, titles):
    name = normalise(recorded)
    assert (name.canonical, name.titles) == (canonical, titles)


def test_a_single_name_is_never_taken_for_a_title():
    assert normalise("SE").canonical == "se"  # only a name left: keep it
    assert normalise("SLAMET").canonical == "slamet"


def test_nothing_left_is_none():
    assert normalise(None) is None
    assert normalise("  .,  ") is None


def test_same_person_spelling_allows_a_typo_an_initial_or_a_leftover_title_but_not_another_name():
    from lintas.identity.names import same_person_spelling

    assert same_person_spelling("dimas saputra", "dimas saputra")
    assert same_person_spelling("dimas saputra", "dimas saputrs")  # one typo
    assert same_person_spelling("dwi wahyuningsih", "dwi wahyunignsih")  # a transposition
    assert same_person_spelling("budi santoso", "budi s")  # the surname as an initial
    assert same_person_spelling("bu siti aminah", "siti aminah")  # a title the dictionary lacks
    assert same_person_spelling("sri rahayu ningsih", "sri rahayu ningsh")
    assert not same_person_spelling("dimas saputra", "dimas pratama")  # another surname
    assert not same_person_spelling("dimas", "dimas saputra")  # one shared word is not enough
    assert not same_person_spelling("b s", "budi santoso")  # initials only
    assert not same_person_spelling("eko", "eka")  # too short for a typo to be told from another name
    assert not same_person_spelling("rahmawati putri", "rahmadani putri")  # two letters: a twin sister
    assert not same_person_spelling(None, "eko")
