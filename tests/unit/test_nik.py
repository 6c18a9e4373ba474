"""NIK / No. KK validation with real-looking cases (all synthetic)."""

from datetime import date

import pytest

from lintas.identity.nik import check_nik, check_no_kk, disagreements

# Blimbing (35.73.01), man born 17-08-1985, serial 0012
MAN = "3573011708850012"
# Lowokwaru (35.73.05), woman born 03-02-2001: day 03 + 40 = 43
WOMAN = "3573054302010007"


def test_valid_nik_reads_place_sex_and_birth_date():
    man = check_nik(MAN)
    assert man.is_valid and man.problems == ()
    assert (man.kecamatan_code, man.implied_sex, man.implied_birth_date) == ("357301", "L", date(1985, 8, 17))
    woman = check_nik(WOMAN)
    assert woman.is_valid and (woman.implied_sex, woman.implied_birth_date) == ("P", date(2001, 2, 3))


@pytest.mark.parametrize("recorded", ["3573 0117 0885 0012", "3573.0117.0885.0012", "'3573011708850012",
                                      " 3573011708850012 "])
def test_spacing_dots_and_apostrophes_are_cleaned(recorded):
    assert check_nik(recorded).nik == MAN


@pytest.mark.parametrize(("recorded", "problem"), [
    (None, "missing"),
    ("", "missing"),
    ("3.57301E+15", "excel_scientific"),
    ("35730117088500", "length_14"),
    ("35730117O8850012", "not_digits"),  # letter O typed for zero
    ("3573011708850000", "zero_serial"),
    ("9999999999999999", "placeholder"),
    ("1234567890123456", "placeholder"),
    ("3573011708000000", "placeholder"),
    ("9973011708850012", "unknown_region"),
    ("3573013208850012", "bad_birth_date"),  # day 32
    ("3573017308850012", "bad_birth_date"),  # woman, day 73 - 40 = 33
    ("3573013102850012", "bad_birth_date"),  # 31 February
    ("3573011713850012", "bad_birth_date"),  # month 13
])
def test_problems_are_named(recorded, problem):
    check = check_nik(recorded)
    assert problem in check.problems and not check.is_valid


def test_first_registration_place_may_be_a_historical_or_other_region():
    # Kecamatan Kalipare, Kabupaten Malang (35.07.11): first registered outside the city, still valid
    assert check_nik("3507111708850012").problems == ()


def test_excel_number_cell_is_corrupt_even_if_well_formed():
    check = check_nik("3573011708850010", from_number_cell=True)
    assert check.nik == "3573011708850010" and "excel_number" in check.problems and not check.is_valid


def test_two_digit_year_picks_the_century_that_makes_a_living_person():
    assert check_nik("3573011708250012").implied_birth_date == date(2025, 8, 17)
    assert check_nik("3573011708300012").implied_birth_date == date(1930, 8, 17)  # 2030 is in the future


def test_no_kk_has_an_issue_date_without_the_plus_40():
    assert check_no_kk("3573012304150001").problems == ()
    assert "bad_issue_date" in check_no_kk("3573016304150001").problems
    assert check_no_kk("35730123").problems == ("malformed",)


def test_mismatches_with_recorded_values_are_signals():
    check = check_nik(WOMAN)
    assert disagreements(check, sex="P", birth_date=date(2001, 2, 3)) == []
    assert disagreements(check, sex="L", birth_date=date(2001, 3, 2)) == ["sex_mismatch", "birth_date_mismatch"]
    assert disagreements(check, sex=None, birth_date=None) == []


def test_a_nik_contradicts_its_record_only_when_two_or_more_date_digits_disagree():
    from datetime import date

    from lintas.identity import nik as nik_module

    woman = nik_module.check_nik("3573054506700001")  # born 5 June 1970
    assert not nik_module.contradicts_record(woman, sex="P", birth_date=date(1970, 6, 5))
    # one digit: a typo in the birth date (or the NIK), or the wrong sex ticked: still her NIK
    assert not nik_module.contradicts_record(woman, sex="P", birth_date=date(1970, 6, 6))
    assert not nik_module.contradicts_record(woman, sex="L", birth_date=date(1970, 6, 5))
    # her family card (issued 3 Dec 2015) typed into the NIK column
    card = nik_module.check_nik("3573050312150004")
    assert nik_module.contradicts_record(card, sex="P", birth_date=date(1970, 6, 5))
    # no birth date recorded (a permit): nothing to contradict
    assert not nik_module.contradicts_record(card, sex=None, birth_date=None)
    # an impossible date in the NIK (day 35) against a recorded date far from it
    assert nik_module.contradicts_record(nik_module.check_nik("3573053513150004"), sex="L",
                                         birth_date=date(1970, 6, 5))


def test_day_and_month_swapped_is_no_contradiction_and_a_permit_nik_of_a_child_is_not_the_holders():
    from datetime import date

    from lintas.identity import nik as nik_module

    girl = nik_module.check_nik("3573014302010007")  # born 3 February 2001
    assert not nik_module.contradicts_record(girl, sex="P", birth_date=date(2001, 3, 2))  # typed as 2 March
    assert nik_module.too_young_for_ktp(nik_module.check_nik("3573050312150004"))  # "born" 2015: a No. KK
    assert not nik_module.too_young_for_ktp(girl)
