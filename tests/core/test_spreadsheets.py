"""CSV exports open in a spreadsheet as text: no cell can start a formula."""

from __future__ import annotations

import csv
import io

import pytest

from shopify_app.core.spreadsheets import csv_text, safe_cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("jane@example.com", "jane@example.com"),
        ("Jane", "Jane"),
        (None, ""),
        (42, "42"),
    ],
)
def test_a_cell_that_a_spreadsheet_would_run_is_shown_as_text(value: object, cell: str) -> None:
    assert safe_cell(value) == cell


def test_a_csv_document_reads_back_with_every_dangerous_cell_neutralised() -> None:
    text = csv_text(["name", "note"], [["\tTab", "\rReturn"], ["=cmd", "fine"]])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["name", "note"], ["'\tTab", "'\rReturn"], ["'=cmd", "fine"]]
