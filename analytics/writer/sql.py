"""Batched SQL for the writer: multi-row inserts and upserts on MariaDB/MySQL and SQLite.

The writer never goes through the ORM per row: one statement writes a whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import Table, func, insert
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from shopify_app.core.extensions import db

Merge = Literal["add", "max", "min", "set"]


def dialect_name() -> str:
    """'mysql' (MariaDB too) or 'sqlite'."""
    return "sqlite" if db.session.get_bind().dialect.name == "sqlite" else "mysql"


def insert_ignore(table: Table, rows: Sequence[dict[str, Any]]) -> int:
    """Insert `rows`, skipping those that hit a unique key; the number actually inserted."""
    if not rows:
        return 0
    statement = insert(table).prefix_with("IGNORE", dialect="mysql")
    statement = statement.prefix_with("OR IGNORE", dialect="sqlite")
    result = db.session.execute(statement, list(rows))
    return int(result.rowcount)  # type: ignore[attr-defined]


def upsert(
    table: Table, rows: Sequence[dict[str, Any]], *, keys: Sequence[str], merge: dict[str, Merge]
) -> None:
    """Insert `rows` or, when `keys` already exist, merge the `merge` columns into the stored row."""
    if not rows:
        return
    if dialect_name() == "sqlite":
        lite = sqlite.insert(table).values(list(rows))
        lite = lite.on_conflict_do_update(
            index_elements=list(keys),
            set_={
                name: _merged(table, name, how, lite.excluded[name], "sqlite") for name, how in merge.items()
            },
        )
        db.session.execute(lite)
        return
    my = mysql.insert(table).values(list(rows))
    my = my.on_duplicate_key_update(
        {name: _merged(table, name, how, my.inserted[name], "mysql") for name, how in merge.items()}
    )
    db.session.execute(my)


def _merged(table: Table, name: str, how: Merge, new: Any, dialect: str) -> ColumnElement[Any]:
    old = table.c[name]
    if how == "add":
        return old + new  # type: ignore[no-any-return]
    if how == "max":
        return func.max(old, new) if dialect == "sqlite" else func.greatest(old, new)
    if how == "min":
        return func.min(old, new) if dialect == "sqlite" else func.least(old, new)
    return new  # type: ignore[no-any-return]
