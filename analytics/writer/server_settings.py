"""The MariaDB server settings the event writer needs to keep up, and a warning when it has less.

A batch's events land all over `events`' indexes (the event id is random), and every product
view rewrites product rollup rows. With MariaDB's defaults, a 128 MB buffer pool and a 96 MB
redo log, those indexes outgrow memory within minutes at full rate and the redo log fills every
few seconds, which forces page flushes in the middle of the writers' transactions. On the 2-core
bench machine two writers landed 10,000-12,400 events/s with the defaults and 15,400 with the
settings below (`bench/README.md`, "ingest"). `deploy/mariadb.cnf` holds the same values for the
server's configuration directory.
"""

from __future__ import annotations

import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from shopify_app.core.extensions import db

log = logging.getLogger(__name__)

MIB = 1 << 20
GIB = 1 << 30
RECOMMENDED: dict[str, int] = {
    "innodb_buffer_pool_size": 2 * GIB,  # the hot index pages of events and the rollups
    "innodb_log_file_size": 1 * GIB,  # minutes of writes between checkpoints, not seconds
}


def current_settings() -> dict[str, int]:
    """The server's values of the recommended settings (MariaDB/MySQL only)."""
    names = ", ".join(f"@@GLOBAL.{name}" for name in RECOMMENDED)
    row = db.session.execute(text(f"SELECT {names}")).one()
    return {name: int(value) for name, value in zip(RECOMMENDED, row, strict=True)}


def shortfalls(settings: dict[str, int]) -> list[str]:
    """A sentence for each setting below its recommended value."""
    return [
        f"MariaDB's {name} is {_size(settings[name])}; the event writer needs at least "
        f"{_size(wanted)} to keep up with a busy store (see deploy/mariadb.cnf)"
        for name, wanted in RECOMMENDED.items()
        if settings[name] < wanted
    ]


def warn_if_short() -> None:
    """Log a warning for each setting the server has less of (a writer's start; MariaDB only)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return
    try:
        found = current_settings()
    except SQLAlchemyError as exc:  # a server that is down or hides its variables: the writer goes on
        log.info("could not read MariaDB's settings: %s", str(exc).splitlines()[0])
        return
    finally:
        with contextlib.suppress(Exception):
            db.session.rollback()
    for sentence in shortfalls(found):
        log.warning(sentence)


def describe(settings: dict[str, int]) -> str:
    """E.g. `innodb_buffer_pool_size 2 GB, innodb_log_file_size 1 GB`."""
    return ", ".join(f"{name} {_size(value)}" for name, value in settings.items())


def _size(value: int) -> str:
    return f"{value / GIB:g} GB" if value >= GIB else f"{value / MIB:g} MB"
