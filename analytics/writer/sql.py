"""Batched SQL for the writer: multi-row inserts and upserts on MariaDB/MySQL and SQLite.

The writer never goes through the ORM per row: one statement writes a whole batch. On MariaDB
the statements are multi-row `INSERT ... VALUES (...), (...)` of up to about 1 MB each, with the
values rendered as SQL literals here (typed: numbers and times formatted, text quoted by the
driver). Compiling thousands of rows through SQLAlchemy's expression layer, or even PyMySQL's
generic per-value escaping, cost more than MariaDB took to store them. SQLite (the embedded
mode and quick tests) keeps the SQLAlchemy constructs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any, Literal

from pymysql.constants import SERVER_STATUS
from sqlalchemy import LargeBinary, Table, cast, func, insert
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.elements import ColumnElement

from shopify_app.core.extensions import db

Merge = Literal["add", "max", "min", "or", "set", "append"]
STATEMENT_BYTES = 1_000_000  # well under MariaDB's default max_allowed_packet (16 MB)
_MYSQL_MERGE = {
    "add": "`{0}` = `{0}` + VALUES(`{0}`)",
    "max": "`{0}` = GREATEST(`{0}`, VALUES(`{0}`))",
    "min": "`{0}` = LEAST(`{0}`, VALUES(`{0}`))",
    "or": "`{0}` = `{0}` | VALUES(`{0}`)",
    "set": "`{0}` = VALUES(`{0}`)",
    "append": "`{0}` = CONCAT(`{0}`, VALUES(`{0}`))",
}


def dialect_name() -> str:
    """'mysql' (MariaDB too) or 'sqlite'."""
    return "sqlite" if db.session.get_bind().dialect.name == "sqlite" else "mysql"


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    return list(rows[0])


# How MariaDB reads escapes in a quoted string (the characters mysql_real_escape_string escapes).
_BACKSLASH_ESCAPES = str.maketrans(
    {"\0": "\\0", "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\x1a": "\\Z", "'": "\\'", '"': '\\"'}
)
_NEEDS_ESCAPE = re.compile("[" + re.escape("".join(map(chr, _BACKSLASH_ESCAPES))) + "]")


def text_quoter() -> Callable[[str], str]:
    """Text as a quoted literal for this connection: backslash escapes, or only doubled quotes when
    the server runs in NO_BACKSLASH_ESCAPES mode (the driver's rule, in one call per value)."""
    connection = db.session.connection().connection.driver_connection
    if connection.server_status & SERVER_STATUS.SERVER_STATUS_NO_BACKSLASH_ESCAPES:  # type: ignore[union-attr]
        return lambda value: "'" + value.replace("'", "''") + "'"
    return _backslash_quoted


def _backslash_quoted(value: str, needs_escape: Callable[[str], Any] = _NEEDS_ESCAPE.search) -> str:
    """Most text (ids, URLs) has nothing to escape: one regex scan is 3-5x cheaper than a
    `translate`, which looks up every character."""
    if needs_escape(value) is None:
        return "'" + value + "'"
    return "'" + value.translate(_BACKSLASH_ESCAPES) + "'"


class Memo(dict[Any, str]):
    """`render(value)` for each value asked for, worked out once: `memo.__getitem__` is a call
    into C that costs a sixth of a Python function's for a value seen before."""

    def __init__(self, render: Callable[[Any], str]) -> None:
        super().__init__()
        self.render = render

    def __missing__(self, value: Any) -> str:
        rendered = self[value] = self.render(value)
        return rendered


def _literals() -> dict[type, Callable[[Any], str]]:
    """Per type, a function writing a value as a MariaDB literal (escaping text as the connection
    needs). Looked up by exact type: a value of any other type is a mistake, not something to store."""
    text = text_quoter()
    return {
        str: text,
        int: str,
        bool: {True: "1", False: "0"}.__getitem__,
        type(None): {None: "NULL"}.__getitem__,
        float: repr,
        # Rollup rows repeat a few days and amounts: each is written once per statement batch.
        # (Equal amounts share one text, e.g. 1.0 and 1.00: the same number to a DECIMAL column.)
        Decimal: Memo(lambda value: format(value, "f")).__getitem__,
        datetime: lambda value: "'" + value.isoformat(" ") + "'",
        date: Memo(lambda value: "'" + value.isoformat() + "'").__getitem__,
        dict: lambda value: text(json.dumps(value)),
        list: lambda value: text(json.dumps(value)),
        bytes: lambda value: "X'" + value.hex() + "'",  # text escaping is for text, not bytes
    }


def _rendered(values: Iterable[Any], literals: dict[type, Callable[[Any], str]]) -> str:
    """Values as comma-separated literals (one dict lookup per value: this runs for every value
    of every row)."""
    try:
        return ",".join([literals[type(value)](value) for value in values])
    except KeyError as exc:
        raise TypeError(f"the writer cannot store a {exc.args[0].__name__}") from None


def _write_rows(head: str, rows: Sequence[dict[str, Any]], columns: list[str], tail: str = "") -> list[Any]:
    """Run `head VALUES (...), (...) tail` over `rows` in statements of about STATEMENT_BYTES.

    The results of each statement (their row counts, or the rows a RETURNING gave back)."""
    return _write_rendered(head, _rendered_rows(rows, columns), tail)


def _rendered_rows(rows: Sequence[dict[str, Any]], columns: list[str]) -> list[str]:
    literals = _literals()
    values = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    return ["(" + _rendered(values(row), literals) + ")" for row in rows]


def _write_rendered(head: str, values: list[str], tail: str = "") -> list[Any]:
    results: list[Any] = []
    start = size = 0
    for number, value in enumerate(values, 1):
        size += len(value) + 1
        if size >= STATEMENT_BYTES or number == len(values):
            # Percent signs are doubled: the driver formats every statement with its parameters.
            sql = f"{head} VALUES {','.join(values[start:number])} {tail}".replace("%", "%%")
            results.append(db.session.connection().exec_driver_sql(sql))
            start, size = number, 0
    return results


def insert_rendered(table: Table, columns: Sequence[str], rows: list[str], *, ignore: bool = False) -> int:
    """MariaDB only: insert rows already written as `(literal, ...)`; the number inserted.

    For the hot path: the constant part of a row can be rendered before the transaction takes
    its locks (`text_quoter` for the text), the rest under them."""
    verb = "INSERT IGNORE" if ignore else "INSERT"
    results = _write_rendered(f"{verb} INTO `{table.name}` ({_names(list(columns))})", rows)
    return sum(int(result.rowcount) for result in results)


def _names(columns: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in columns)


def select_rows(sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """Rows of a driver-level SELECT (`%s` placeholders; `IN %s` takes a tuple)."""
    return [tuple(row) for row in db.session.connection().exec_driver_sql(sql, params)]


def insert_ignore(table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """Insert `rows`, skipping those that hit a unique key; the number actually inserted."""
    if not rows:
        return 0
    if dialect_name() == "mysql":
        columns = _columns(rows)
        return insert_rendered(table, columns, _rendered_rows(rows, columns), ignore=True)
    statement = insert(table).prefix_with("OR IGNORE", dialect="sqlite")
    result = db.session.execute(statement, list(rows))
    return int(result.rowcount)  # type: ignore[attr-defined]


def insert_returning_ids(table: Table, rows: Sequence[dict[str, Any]], *, check: str) -> list[int]:
    """Insert `rows` (no conflicts expected); their new ids, in the order of `rows`.

    MariaDB gives back a multi-row INSERT's rows in the order of its VALUES; the `check` column
    is returned too and compared, so a different order fails instead of mixing ids up."""
    if not rows:
        return []
    if dialect_name() == "sqlite":
        statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        return [int(i) for i in db.session.execute(statement, list(rows)).scalars().all()]
    columns = _columns(rows)
    head = f"INSERT INTO `{table.name}` ({_names(columns)})"
    returned = [
        tuple(row)
        for result in _write_rows(head, rows, columns, f"RETURNING `id`, `{check}`")
        for row in result
    ]
    if [value for _, value in returned] != [row[check] for row in rows]:
        raise RuntimeError(f"INSERT ... RETURNING into {table.name} did not answer row by row")
    return [int(row_id) for row_id, _ in returned]


def upsert(
    table: Table, rows: Sequence[dict[str, Any]], *, keys: Sequence[str], merge: dict[str, Merge]
) -> None:
    """Insert `rows` or, when `keys` already exist, merge the `merge` columns into the stored row."""
    if not rows:
        return
    if dialect_name() == "sqlite":
        # One statement run for every row (executemany): a multi-row VALUES would be compiled
        # value by value, which cost SQLAlchemy more than SQLite took to store the rows.
        lite = sqlite.insert(table)
        lite = lite.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: _merged(table, name, how, lite.excluded[name]) for name, how in merge.items()},
        )
        db.session.execute(lite, list(rows))
        return
    columns = _columns(rows)
    updates = ", ".join(_MYSQL_MERGE[how].format(name) for name, how in merge.items())
    _write_rows(
        f"INSERT INTO `{table.name}` ({_names(columns)})", rows, columns, f"ON DUPLICATE KEY UPDATE {updates}"
    )


def _merged(table: Table, name: str, how: Merge, new: Any) -> ColumnElement[Any]:
    old = table.c[name]
    if how == "add":
        return old + new  # type: ignore[no-any-return]
    if how == "max":
        return func.max(old, new)
    if how == "min":
        return func.min(old, new)
    if how == "or":
        return old.op("|")(new)
    if how == "append":  # bytes: `||` gives text on SQLite, cast back to a blob
        return cast(old.op("||")(new), LargeBinary)
    return new  # type: ignore[no-any-return]
