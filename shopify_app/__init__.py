"""Clickstream: the Shopify app package.

`create_app` is imported lazily so that lower layers (`shopify_app.core`) can be imported by
`analytics`, `recommend` and `ml` without pulling in the blueprints that import them back.
"""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application; `config` overrides settings read from the environment."""
    from shopify_app.factory import build_app

    return build_app(config)
