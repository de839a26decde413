"""The merchant's pending answers to `customers/data_request`, to download and send on.

`GET /admin/api/data-requests` lists them; `GET /admin/api/data-requests/<id>` hands one over and
deletes it (the download is its delivery; Shopify can ask again). Those not downloaded are deleted
after `DATA_REQUEST_RETENTION_DAYS` (`analytics.purge_expired_data_requests`).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

from analytics.data_requests import data_request_path, data_requests
from shopify_app.core.auth import admin_api, current_shop
from shopify_app.core.errors import NotFound
from shopify_app.core.openapi import error_response, json_response, register_openapi

bp = Blueprint("admin_data_requests", __name__, url_prefix="/admin/api/data-requests")


class DataRequestGone(NotFound):
    """No stored answer with this id: never written, already downloaded or expired."""

    code = "data_request_not_found"


@bp.get("")
@admin_api
def list_data_requests() -> Response:
    """The shop's answers waiting to be downloaded, oldest first."""
    days = int(current_app.config["DATA_REQUEST_RETENTION_DAYS"])
    items = [
        {
            "id": item.request_id,
            "shopify_customer_id": item.shopify_customer_id,
            "written_at": item.written_at.isoformat(),
            "expires_at": item.expires_at(days).isoformat(),
        }
        for item in data_requests(current_shop().domain)
    ]
    return jsonify({"data_requests": items, "retention_days": days})


@bp.get("/<request_id>")
@admin_api
def download_data_request(request_id: str) -> Response:
    """One answer as a JSON file; it is deleted once read."""
    path = data_request_path(current_shop().domain, request_id)
    if path is None:
        raise DataRequestGone("no waiting data request with this id", field="request_id")
    body = json.loads(path.read_text(encoding="utf-8"))
    path.unlink(missing_ok=True)
    response = jsonify(body)
    response.headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI description of the data-request routes."""
    from shopify_app.admin import DENIED, SECURED

    item = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "shopify_customer_id": {"type": "integer", "nullable": True},
            "written_at": {"type": "string"},
            "expires_at": {"type": "string"},
        },
        "required": ["id", "shopify_customer_id", "written_at", "expires_at"],
    }
    listing = {
        "type": "object",
        "properties": {
            "data_requests": {"type": "array", "items": item},
            "retention_days": {"type": "integer"},
        },
        "required": ["data_requests", "retention_days"],
    }
    return {
        "/admin/api/data-requests": {
            "get": {
                "security": SECURED,
                "summary": "Answers to customers' data requests waiting to be downloaded",
                "responses": {"200": json_response("Waiting answers", listing), **DENIED},
            }
        },
        "/admin/api/data-requests/{request_id}": {
            "get": {
                "security": SECURED,
                "summary": "Download one answer (deleted once downloaded)",
                "parameters": [
                    {"name": "request_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": json_response("What we hold on the customer", {"type": "object"}),
                    "404": error_response("Never written, already downloaded or expired"),
                    **DENIED,
                },
            }
        },
    }


def init_app(app: Flask) -> None:
    """Register the routes and their OpenAPI description."""
    app.register_blueprint(bp)
    register_openapi(app, openapi_paths())
