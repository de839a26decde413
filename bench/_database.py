"""A benchmark's own MariaDB database, created empty (dropped first if a run left it)."""

from __future__ import annotations

import pymysql

HOST = "127.0.0.1"


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
