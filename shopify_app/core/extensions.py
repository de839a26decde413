"""Extension objects, created unbound here and bound to an app in the factory."""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask, current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints the same way."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    """SQLite ignores foreign keys unless asked on every connection."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def engine_options(url: str) -> dict[str, Any]:
    """Connection pool settings suited to the database behind `url`.

    Statement parameters are kept out of error messages and SQL logging (`hide_parameters`):
    they are shoppers' emails, URLs and event values, and errors end in log lines."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}, "hide_parameters": True}
    options: dict[str, Any] = {
        "hide_parameters": True,
        "pool_pre_ping": True,
        "pool_recycle": 1800,
        "pool_size": 10,
        "max_overflow": 20,
    }
    if url.startswith(("mysql", "mariadb")):
        options["connect_args"] = {"charset": "utf8mb4", "connect_timeout": 5}
    return options


class RedisClient:
    """A Redis connection bound to the app when `REDIS_URL` is set, else absent (embedded mode)."""

    def init_app(self, app: Flask) -> None:
        """Create the client lazily; connecting happens on first use."""
        url = app.config.get("REDIS_URL")
        app.extensions["redis"] = (
            redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)
            if url
            else None
        )


redis_client = RedisClient()


def get_redis() -> redis.Redis | None:
    """The app's Redis client, or None in embedded mode."""
    client: redis.Redis | None = current_app.extensions.get("redis")
    return client
