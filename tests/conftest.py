"""Shared fixtures: one test database per run (migrated once), one rolled-back transaction per test.

The backend is chosen by `TEST_DATABASE` (`mysql`, the default and CI's, or `sqlite`).
`CLICKSTREAM_TEST_DB_NAME` and `CLICKSTREAM_TEST_REDIS_DB` let parallel runs stay apart.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from sqlalchemy import text

from tests.support.databases import TestDatabase, make_test_database

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def test_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    """The migrated database every test of this run uses."""
    database = make_test_database(
        os.environ.get("TEST_DATABASE", "mysql"),
        name=os.environ.get("CLICKSTREAM_TEST_DB_NAME", "clickstream_test"),
        tmp_dir=tmp_path_factory.mktemp("db"),
    )
    database.create_and_migrate()
    yield database
    database.drop()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database of its own for this run, emptied at the start."""
    url = f"redis://127.0.0.1:6379/{os.environ.get('CLICKSTREAM_TEST_REDIS_DB', '1')}"
    redis_lib.Redis.from_url(url).flushdb()
    return url


def app_config(test_database: TestDatabase, **overrides: Any) -> dict[str, Any]:
    """Config for a test app on the test database, embedded mode unless overridden."""
    config: dict[str, Any] = {
        "TESTING": True,
        "ENV": {
            "CLICKSTREAM_ENV": "testing",
            "DATABASE_URL": test_database.url,
            "REDIS_URL": "",
            "INGEST_SPOOL_DIR": "off",
        },
        "SHOPIFY_API_KEY": "test-api-key",
        "SHOPIFY_API_SECRET": "test-api-secret-0123456789abcdef0123456789",
        "DATA_DIR": str(SHARED / "data"),
    }
    env_overrides = overrides.pop("ENV", {})
    config["ENV"].update(env_overrides)
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def app(test_database: TestDatabase) -> Flask:
    """The app in embedded mode (no Redis, tasks in process) on the test database."""
    from shopify_app import create_app

    return create_app(app_config(test_database))


@pytest.fixture
def make_app(test_database: TestDatabase) -> Any:
    """Build another app on the test database with extra config (e.g. REDIS_URL)."""
    from shopify_app import create_app

    def build(**overrides: Any) -> Flask:
        return create_app(app_config(test_database, **overrides))

    return build


@pytest.fixture(autouse=True)
def _app_context(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run each test inside the session app's context, in a transaction rolled back afterwards.

    Tests marked `committed` (a live server or worker must see the rows) write for real and
    have every table emptied afterwards instead.
    """
    if "app" not in request.fixturenames and "db" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    from analytics.writer.product_reach import forget_all
    from shopify_app.core.extensions import db

    forget_all()  # each test's rows are rolled back or deleted, and their ids may come again
    with app.app_context():
        if request.node.get_closest_marker("committed"):
            try:
                yield
            finally:
                db.session.remove()
                truncate_all(db)
            return
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {
                "bind": connection,
                "join_transaction_mode": "create_savepoint",
                "class_": ConnectionBoundSession,
            }
        )
        try:
            yield
        finally:
            db.session.remove()
            db.session = original
            transaction.rollback()
            connection.close()


class ConnectionBoundSession(FlaskSQLAlchemySession):
    """Flask-SQLAlchemy's session always picks the app's engine; this one keeps the test's connection.

    Without it every `commit()` in the code under test would commit for real, and a test's
    rows would leak into the next test.
    """

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def truncate_all(db: Any) -> None:
    """Empty every table (for tests whose writes were committed)."""
    with db.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(text("PRAGMA foreign_keys=OFF"))
        else:
            connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())
        if connection.dialect.name == "sqlite":
            connection.execute(text("PRAGMA foreign_keys=ON"))
        else:
            connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))


@pytest.fixture
def db(app: Flask) -> Any:
    """The SQLAlchemy extension (its session is the test's transaction)."""
    from shopify_app.core.extensions import db as database

    return database


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the session app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A CLI runner of the session app."""
    return app.test_cli_runner()


@pytest.fixture
def shop(db: Any) -> Any:
    """An installed shop."""
    from tests.support.factories import make_shop

    return make_shop()


@pytest.fixture
def session_token(app: Flask, shop: Any) -> str:
    """A valid session token for `shop`."""
    from shopify_app.core.auth import mint_session_token

    return mint_session_token(shop.domain)
