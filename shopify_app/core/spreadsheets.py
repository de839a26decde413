"""CSV for spreadsheets: every export goes through here so no cell can run as a formula.

Excel, LibreOffice and Google Sheets treat a cell starting with `=`, `+`, `-` or `@` as a formula,
and skip a leading tab or carriage return before looking (OWASP's "CSV injection"); such cells get
a leading `'`, which spreadsheets show as plain text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """The value as a CSV cell a spreadsheet shows as text (None: an empty cell)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    """A CSV document with `header` and `rows`, every cell neutralised by `safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(name) for name in header])
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return out.getvalue()
