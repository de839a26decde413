"""Conversion prediction: features, the Keras model, training, registry, scoring, notifications.

The model code (`ml.features`, `ml.network`) imports no Flask; only `ml.web` wires the package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Register the ml routes and commands."""
    from ml import web

    web.init_app(app)
