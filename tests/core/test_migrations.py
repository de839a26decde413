"""Migrations build, on MariaDB and on SQLite, exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask_migrate import check, upgrade

from shopify_app import create_app
from tests.support.databases import make_test_database


@pytest.mark.parametrize("backend", ["mysql", "sqlite"])
def test_upgrade_on_an_empty_database_leaves_no_difference_from_the_models(
    backend: str, tmp_path: Path
) -> None:
    database = make_test_database(backend, name="clickstream_migration_check", tmp_dir=tmp_path)
    database.drop()
    try:
        if backend == "mysql":
            database.create_and_migrate()
        app = create_app(
            {"ENV": {"CLICKSTREAM_ENV": "testing", "DATABASE_URL": database.url, "REDIS_URL": ""}}
        )
        with app.app_context():
            upgrade()
            check()  # raises SystemExit when autogenerate finds a difference
            from shopify_app.core.extensions import db

            tables = set(db.inspect(db.engine).get_table_names())
            db.engine.dispose()
        assert {"shops", "events", "sessions", "orders", "webhook_deliveries", "model_versions"} <= tables
    finally:
        database.drop()


def test_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    database = make_test_database("sqlite", name="fk", tmp_dir=tmp_path)
    database.create_and_migrate()
    app = create_app({"ENV": {"CLICKSTREAM_ENV": "testing", "DATABASE_URL": database.url, "REDIS_URL": ""}})
    with app.app_context():
        from shopify_app.core.extensions import db

        with pytest.raises(IntegrityError):
            db.session.execute(
                text(
                    "INSERT INTO products (shop_id, shopify_id, handle, title, status, published, available, created_at, updated_at) "
                    "VALUES (999, 1, 'h', 't', 'active', 1, 1, '2026-01-01', '2026-01-01')"
                )
            )
        db.session.rollback()
        db.engine.dispose()
