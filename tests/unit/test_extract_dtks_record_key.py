"""A quarantined DTKS row keeps the member's IDDTKS when the row split by the header, so the marts can tell a
member who was delivered but unusable from one who is absent."""

from lintas.extract import dtks
from tests.fixtures.dtks_files import member, write


def test_quarantined_rows_carry_the_iddtks_only_when_it_was_readable(tmp_path):
    rows = [member(0), member(1, PERIODE="2026-09"), member(0, NAMA="SALINAN"), member(2, ALAMAT="JL. A; NO. 2"),
            member(3, IDDTKS="")]
    delivery = dtks.read(write(tmp_path, "DTKS_3573_202610.csv", rows))
    keys = {e.rule: e.record_key for e in delivery.errors}
    assert keys == {"matches_file_period": "ID000001", "unique_in_file": "ID000000", "field_count": None,
                    "required": None}
