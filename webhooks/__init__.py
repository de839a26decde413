"""webhooks package; its public surface is this module and its `services`."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the webhook endpoints and their OpenAPI description."""
    from shopify_app.core.openapi import register_openapi
    from webhooks.views import bp, openapi_paths

    app.register_blueprint(bp)
    register_openapi(app, openapi_paths())
