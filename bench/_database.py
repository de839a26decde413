"""A benchmark's own MariaDB database, created empty (dropped first if a run left it), and the
server settings a benchmark runs with."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pymysql

HOST = "127.0.0.1"
RESIZE_IN_PROGRESS = 1221  # "innodb_buffer_pool_size change aborted"


def recreate_database(name: str) -> None:
    """Drop `name` if it exists and create it empty (utf8mb4)."""
    connection = pymysql.connect(host=HOST, user="root", autocommit=True)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    connection.close()


def drop_database(name: str) -> None:
    """Drop `name` (the end of a run that keeps nothing)."""
    connection = pymysql.connect(host=HOST, user="root", autocommit=True)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
    connection.close()


@contextlib.contextmanager
def server_settings(values: dict[str, int]) -> Iterator[dict[str, int]]:
    """MariaDB's global variables set to `values` for the block and put back after it; yields
    the server's own values. (Both settings the writer asks for can change on a running server.)"""
    connection = pymysql.connect(host=HOST, user="root", autocommit=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"@@GLOBAL.{name}" for name in values))
        before = dict(zip(values, map(int, cursor.fetchone()), strict=True))
        try:
            for name, value in values.items():
                _set_global(cursor, name, int(value))
            yield before
        finally:
            for name, value in before.items():
                _set_global(cursor, name, value)
            connection.close()


def _set_global(cursor: Any, name: str, value: int, *, patience_s: float = 120.0) -> None:
    """SET GLOBAL, waiting while the server is still resizing its buffer pool from the last
    change (it refuses another meanwhile, error 1221)."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            cursor.execute(f"SET GLOBAL {name} = {value}")
            return
        except pymysql.err.OperationalError as exc:
            if exc.args[0] != RESIZE_IN_PROGRESS or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
