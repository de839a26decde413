"""The application factory, in named steps: settings, logging, extensions, features, errors."""

from __future__ import annotations

import importlib
import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from shopify_app.core import replica
from shopify_app.core.config import load_settings
from shopify_app.core.extensions import db, engine_options, migrate, redis_client
from shopify_app.core.logging import configure_logging
from shopify_app.core.tasks import celery_init_app

# Each feature module exposes `init_app(app)`: it registers its blueprints, CLI commands,
# health probes and OpenAPI paths. Order matters only for the start page's list of links.
FEATURES = (
    "shopify_app.ops",
    "shopify_app.cli",
    "shopify_app.start",
    "shopify_app.platform",
    "shopify_app.admin",
    "shopify_app.demo_store",
    "webhooks",
    "analytics",
    "recommend",
    "ml",
)

# Modules declaring ORM models; imported so migrations and `db.metadata` see every table.
MODEL_MODULES = (
    "shopify_app.core.models",
    "webhooks.models",
    "analytics.models",
    "analytics.segment_models",
    "analytics.sales_models",
    "recommend.models",
    "ml.models",
)

# Modules holding Celery tasks; the worker imports them so their tasks register.
TASK_MODULES = [
    "shopify_app.platform.tasks",
    "webhooks.tasks",
    "analytics.tasks",
    "recommend.tasks",
    "ml.tasks",
]

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


def build_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Create and wire the app; `overrides` (tests) win over the environment."""
    app = Flask("shopify_app", instance_relative_config=True)
    _configure(app, overrides or {})
    _register_extensions(app)
    _register_features(app)
    _register_error_handlers(app)
    return app


def _configure(app: Flask, overrides: dict[str, Any]) -> None:
    os.makedirs(app.instance_path, exist_ok=True)
    env = {**os.environ, **{k: str(v) for k, v in overrides.pop("ENV", {}).items()}}
    settings = load_settings(env, instance_path=app.instance_path)
    app.config.from_mapping(settings.as_flask_config())
    app.config.update(
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
        SQLALCHEMY_TRACK_MODIFICATIONS=False,
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    app.config.update(overrides)
    app.secret_key = app.config["SECRET_KEY"]
    if app.config["TRUSTED_PROXY_COUNT"]:
        # The client's address is the hop the last trusted proxy appended to X-Forwarded-For;
        # anything before it was written by the client and is never used (rate limits key on it).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=int(app.config["TRUSTED_PROXY_COUNT"]))  # type: ignore[method-assign]
    configure_logging(fmt=app.config["LOG_FORMAT"], level=app.config["LOG_LEVEL"])


def _register_extensions(app: Flask) -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    redis_client.init_app(app)
    replica.init_app(app)
    celery_init_app(app, TASK_MODULES)


def _register_features(app: Flask) -> None:
    for name in FEATURES:
        importlib.import_module(name).init_app(app)


def _register_error_handlers(app: Flask) -> None:
    from shopify_app import errors_handlers

    errors_handlers.init_app(app)
