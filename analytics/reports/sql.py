"""Small SQL helpers that read the same on MariaDB and SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from shopify_app.core.replica import read_session


def reader() -> Session:
    """The session analytics reads through (the replica when one is configured)."""
    return read_session()


def dialect_name() -> str:
    """`mysql`/`mariadb` or `sqlite`: the database the reads go to."""
    bind = reader().get_bind()
    return bind.dialect.name


def flag(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """1 when `condition` holds, else 0 (to SUM as a count)."""
    return case((condition, 1), else_=0)


def as_int(value: Any) -> int:
    """An aggregate as an int (NULL → 0)."""
    return int(value or 0)


def as_float(value: Any, places: int = 2) -> float:
    """An aggregate as a rounded float (NULL → 0)."""
    return round(float(value or 0), places)
