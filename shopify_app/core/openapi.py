"""The OpenAPI 3 document, assembled from what each package registers in its `init_app`."""

from __future__ import annotations

from typing import Any

from flask import Flask

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "field": {"type": "string"},
    },
}


def error_response(description: str) -> dict[str, Any]:
    """An OpenAPI response object for our JSON error body."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI response object with a JSON body of `schema`."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def register_openapi(
    app: Flask,
    paths: dict[str, Any],
    schemas: dict[str, Any] | None = None,
    security_schemes: dict[str, Any] | None = None,
) -> None:
    """Add `paths` (and component schemas) to the app's OpenAPI document."""
    spec = app.extensions.setdefault(
        "openapi",
        {
            "openapi": "3.0.3",
            "info": {
                "title": "Clickstream",
                "version": "1.0.0",
                "description": "Clickstream analytics, recommendations and notifications for Shopify.",
            },
            "paths": {},
            "components": {"schemas": {"Error": ERROR_SCHEMA}, "securitySchemes": {}},
        },
    )
    for path, item in paths.items():
        spec["paths"].setdefault(path, {}).update(item)
    spec["components"]["schemas"].update(schemas or {})
    spec["components"]["securitySchemes"].update(security_schemes or {})


def openapi_document(app: Flask) -> dict[str, Any]:
    """The assembled document."""
    document: dict[str, Any] = app.extensions.get("openapi", {})
    return document
