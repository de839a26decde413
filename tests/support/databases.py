"""Test databases on MariaDB or SQLite, created empty and migrated with the real migrations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pymysql

MYSQL_HOST = "127.0.0.1"


@dataclass
class TestDatabase:
    """A database created for one test run."""

    __test__ = False
    backend: str
    name: str
    url: str
    path: Path | None = None

    def create_and_migrate(self) -> None:
        """Create it empty and run every migration."""
        self.drop()
        if self.backend == "mysql":
            _mysql(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        upgrade(self.url)

    def drop(self) -> None:
        """Remove it."""
        if self.backend == "mysql":
            _mysql(f"DROP DATABASE IF EXISTS `{self.name}`")
        elif self.path and self.path.exists():
            self.path.unlink()


def make_test_database(backend: str, *, name: str, tmp_dir: Path) -> TestDatabase:
    """A TestDatabase description for `backend` ('mysql' or 'sqlite')."""
    if backend == "mysql":
        url = f"mysql+pymysql://root@{MYSQL_HOST}:3306/{name}?charset=utf8mb4"
        return TestDatabase("mysql", name, url)
    if backend == "sqlite":
        path = tmp_dir / f"{name}.db"
        return TestDatabase("sqlite", name, f"sqlite:///{path}", path)
    raise ValueError(f"TEST_DATABASE must be mysql or sqlite, not {backend!r}")


def upgrade(url: str) -> None:
    """Run `db upgrade` against `url` through the app's own migrations."""
    from flask_migrate import upgrade as alembic_upgrade

    from shopify_app import create_app

    app = create_app({"ENV": {"CLICKSTREAM_ENV": "testing", "DATABASE_URL": url, "REDIS_URL": ""}})
    with app.app_context():
        alembic_upgrade()
        from shopify_app.core.extensions import db

        db.engine.dispose()


def _mysql(statement: str) -> None:
    connection = pymysql.connect(host=MYSQL_HOST, user="root", password="", autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()
