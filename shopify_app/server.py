"""The production web server: gunicorn with threaded workers, started from the CLI."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from analytics.ingest import start_spool
from shopify_app.core.extensions import db


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def _post_fork(_server: Any, worker: Any) -> None:
    # Connections opened before the fork must not be shared between processes.
    app = worker.app.application
    with app.app_context():
        db.engine.dispose(close=False)
    start_spool(app)


def run_gunicorn(app: Flask, *, host: str, port: int, workers: int) -> None:
    """Serve `app` until interrupted."""
    _Gunicorn(
        app,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": 4,
            "timeout": 30,
            "graceful_timeout": 10,
            "keepalive": 5,
            "accesslog": None,
            "post_fork": _post_fork,
        },
    ).run()
