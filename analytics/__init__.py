"""analytics package; its public surface is this module and its `services`."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's routes, CLI commands and health probes."""
    from analytics import ingest, web, writer
    from analytics.commands import import_demo_history, import_events_command
    from shopify_app.core.hooks import register_demo_hook

    app.cli.add_command(import_events_command)
    register_demo_hook(app, import_demo_history)
    ingest.init_app(app)
    writer.init_app(app)
    web.init_app(app)
