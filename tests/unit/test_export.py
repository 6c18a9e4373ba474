import pytest

from lintas.export import safe_cell


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x","klik")', "+62 812", "-1+2", "@SUM(A1)", "\tX", "\rX",
                                   "-SITI"])
def test_formula_like_text_is_neutralised(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["SITI AMINAH", "-", "--", " - ", "", None, 42, "JL. MAWAR NO. 5 = RT 3"])
def test_other_values_pass_unchanged(value):
    assert safe_cell(value) == value
