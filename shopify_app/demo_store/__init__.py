"""The demo storefront under /demo/store/, rendering the real app embed block."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the demo storefront pages."""
