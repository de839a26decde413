"""Embedded admin pages (dashboard, products, segments, settings, installation status)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the admin pages and APIs."""
    from shopify_app.admin import experiments

    experiments.init_app(app)
