"""Embedded admin pages (dashboard, products, segments, settings, installation status).

Also registers the ml engineer's admin modules (`experiments`, `notifications`) when present.
"""

from __future__ import annotations

import importlib
from typing import Any

from flask import Flask

from shopify_app.core.openapi import error_response, json_response, register_openapi

OTHER_ADMIN_MODULES = (
    "shopify_app.admin.experiments",
    "shopify_app.admin.notifications",
    "shopify_app.admin.recommendations",
    "shopify_app.admin.data_requests",
)
SECURED: list[dict[str, list[str]]] = [{"sessionToken": []}]
DENIED = {
    "401": error_response("Missing, expired or foreign session token"),
    "403": error_response("Shop not installed"),
}
SETTINGS_SCHEMA = {
    "type": "object",
    "properties": {
        "consent_mode": {"type": "string", "enum": ["required", "not_required"]},
        "retention_months": {"type": "integer", "minimum": 1, "maximum": 60},
        "session_timeout_minutes": {"type": "integer", "minimum": 5, "maximum": 240},
    },
    "additionalProperties": False,
}


def openapi_paths() -> dict[str, Any]:
    """The admin's JSON API (settings and installation status)."""
    settings = json_response("Settings", {"type": "object", "properties": {"settings": SETTINGS_SCHEMA}})
    return {
        "/admin/api/settings": {
            "get": {
                "security": SECURED,
                "summary": "The shop's settings",
                "responses": {"200": settings, **DENIED},
            },
            "put": {
                "security": SECURED,
                "summary": "Change settings",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": SETTINGS_SCHEMA}},
                },
                "responses": {"200": settings, "400": error_response("Invalid setting"), **DENIED},
            },
        },
        "/admin/api/status": {
            "get": {
                "security": SECURED,
                "summary": "Installation status",
                "responses": {"200": json_response("Status", {"type": "object"}), **DENIED},
            }
        },
    }


def _register_other(app: Flask, name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return
        raise
    if hasattr(module, "init_app"):
        module.init_app(app)
    elif hasattr(module, "bp"):
        app.register_blueprint(module.bp)


def init_app(app: Flask) -> None:
    """Register the admin pages, assets, settings API and the other admin modules."""
    from shopify_app.admin import pages, settings

    app.register_blueprint(pages.bp)
    app.register_blueprint(settings.bp)
    register_openapi(app, openapi_paths())
    for name in OTHER_ADMIN_MODULES:
        _register_other(app, name)
