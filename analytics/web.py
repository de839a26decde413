from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the analytics web blueprints (owned by the analytics engineer)."""
