"""Values Lintas writes into files people open in a spreadsheet (CSV, XLSX).

A cell that begins with =, +, -, @, a tab or a carriage return is read by Excel and LibreOffice as a formula:
an agency's free text (a name typed as `=HYPERLINK(...)`) would run on an analyst's machine (CSV injection).
Every writer of an export passes its text cells through `safe_cell`: a leading apostrophe makes the cell text
(OWASP's advice). Dashes-and-spaces-only values ("-", the agencies' "blank") are no formula and stay as they
are. The same rule is the dbt macro `safe_text`, applied to the marts' free-text columns; the raw layer keeps
what was delivered.
"""

from __future__ import annotations

import re

_FORMULA_START = re.compile(r"^[=+@\t\r]|^-(?![-\s]*$)")


def safe_cell(value):
    """The value as a spreadsheet must receive it: text that could start a formula is prefixed with `'`."""
    if isinstance(value, str) and _FORMULA_START.match(value):
        return "'" + value
    return value
