"""webhooks package; its public surface is this module and its `services`."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's routes, CLI commands and health probes."""
