"""Why a store failed: the database being away (wait and retry) or the entries (set them aside).

Only a failure of the connection pauses the writer: the server unreachable, the connection
lost, a read-only server (a replica promoted, a failover), a lock wait or deadlock that
outlasted the writer's retries, a database or table missing (a deployment half done). Anything
else (a value the database refuses, a constraint, a statement too big, a bug in the writer)
belongs to the entries being stored and is narrowed down to the failing entry.

"Server has gone away" (2006) and "lost connection" (2013) are ambiguous: a statement bigger than
`max_allowed_packet` makes the server drop the connection too. They pause the writer only when a
new connection cannot reach the server either; otherwise the entries are to blame.

Nothing here renders an exception with `str()`: SQLAlchemy's message carries the statement and
its values. `describe` gives the class, the database's error code and the database's message up
to its first quoted value.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass

import pymysql
from sqlalchemy.exc import DBAPIError

from shopify_app.core.extensions import db

# MariaDB/MySQL error codes no entry can cause.
CONNECTION_CODES = frozenset(
    {
        1040, 1203,  # too many connections
        1044, 1045, 1142,  # access denied (the writer's grants)
        1049, 1146,  # unknown database, table missing: a deployment half done
        1053, 1927,  # server shutting down, connection killed
        1205, 1213,  # a lock wait or deadlock that outlasted `store_batches`' retries
        1290, 1792, 1836,  # read-only server or transaction (a replica, a failover)
        2002, 2003, 2005, 2026,  # cannot connect (socket, TCP, host, TLS)
    }
)  # fmt: skip
# Codes that can mean the server went away, or that it dropped a statement it would not take.
AMBIGUOUS_CODES = frozenset({0, 2006, 2013, 2055})
SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")
MESSAGE_CHARS = 160


@dataclass(frozen=True)
class Failure:
    """A failure said without any stored value: for dead letters and log lines."""

    kind: str  # the exception's class
    code: str | None  # the database's error code, or the name of a writer check
    message: str  # the database's message up to its first quoted value, or the check's

    @property
    def text(self) -> str:
        """One line: class, code, message."""
        return " ".join(part for part in (self.kind, self.code, self.message) if part)


def _driver_error(exc: BaseException) -> BaseException:
    return exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc


def database_code(exc: BaseException) -> int | None:
    """The MariaDB/MySQL error number behind `exc`, if it has one."""
    error = _driver_error(exc)
    if isinstance(error, pymysql.err.MySQLError) and error.args and isinstance(error.args[0], int):
        return int(error.args[0])
    return None


def _safe_message(exc: BaseException) -> str:
    """The database's own message up to its first quoted part (where MariaDB puts values:
    "Duplicate entry '...'", "Unknown column '...'"); other exceptions say only their class."""
    error = _driver_error(exc)
    if isinstance(error, pymysql.err.MySQLError) and len(error.args) > 1:
        text = str(error.args[1])
    elif isinstance(error, sqlite3.Error):
        text = str(error)
    else:
        return ""
    for quote in ("'", '"'):
        text = text.split(quote, 1)[0]
    return text.strip()[:MESSAGE_CHARS]


def describe(exc: BaseException) -> Failure:
    """What went wrong, without the statement or any value."""
    code = database_code(exc)
    return Failure(type(_driver_error(exc)).__name__, None if code is None else str(code), _safe_message(exc))


def _definitely_unavailable(exc: BaseException) -> bool:
    error = _driver_error(exc)
    if isinstance(error, sqlite3.OperationalError):
        return any(text in str(error).lower() for text in SQLITE_UNAVAILABLE)
    return database_code(exc) in CONNECTION_CODES


def _maybe_unavailable(exc: BaseException) -> bool:
    error = _driver_error(exc)
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(error, pymysql.err.InterfaceError | ConnectionError | TimeoutError):
        return True
    return database_code(exc) in AMBIGUOUS_CODES


def reset_session() -> None:
    """End the failed transaction and give its connection back, whatever state it is in (a server
    that dropped an oversized statement closed it: the pool's ping replaces it at the next use)."""
    with contextlib.suppress(Exception):
        db.session.rollback()
    with contextlib.suppress(Exception):
        db.session.remove()


def server_reachable() -> bool:
    """Whether a new connection reaches the database and answers (after a failed one is dropped)."""
    reset_session()
    try:
        with db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - whatever stops a new connection, the server is away
        return False


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database cannot be used now (wait and retry the same entries);
    False when the entries being stored are to blame. Ends the failed transaction either way."""
    reset_session()
    if _definitely_unavailable(exc):
        return True
    if _maybe_unavailable(exc):
        return not server_reachable()
    return False
