"""Wiring of the ml package into the Flask app."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register notification routes and the train/eval commands."""
