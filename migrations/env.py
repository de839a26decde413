"""Alembic environment, run through Flask-Migrate inside the app context."""

from __future__ import annotations

import logging
from typing import Any

from alembic import context
from flask import current_app
from sqlalchemy import JSON
from sqlalchemy.dialects.mysql import LONGTEXT

log = logging.getLogger("alembic.env")
config = context.config
target_db = current_app.extensions["migrate"].db


def _metadata() -> Any:
    return target_db.metadatas[None] if hasattr(target_db, "metadatas") else target_db.metadata


def _compare_type(
    ctx: Any, inspected: Any, metadata: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    # MariaDB reports JSON columns as LONGTEXT (with a json_valid check): the same column.
    if isinstance(inspected_type, LONGTEXT) and isinstance(metadata_type.dialect_impl(ctx.dialect), JSON):
        return False
    return None


def _configure(**kwargs: Any) -> None:
    options = current_app.extensions["migrate"].configure_args
    options.setdefault("compare_type", _compare_type)
    options.setdefault("render_as_batch", True)
    context.configure(target_metadata=_metadata(), **options, **kwargs)


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it."""
    url = target_db.engine.url.render_as_string(hide_password=False)
    _configure(url=url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations against the app's database."""

    def skip_empty(_context: Any, _revision: Any, directives: list[Any]) -> None:
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            log.info("no changes in schema detected")

    with target_db.engine.connect() as connection:
        _configure(connection=connection, process_revision_directives=skip_empty)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
