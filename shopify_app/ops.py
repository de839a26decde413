"""Operations endpoints: `/healthz`, `/metrics`, `/openapi.json`, and request instrumentation."""

from __future__ import annotations

import time
import uuid
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, has_app_context, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text

from shopify_app.core.extensions import db, get_redis
from shopify_app.core.hooks import hook_failure_counts
from shopify_app.core.logging import bind_log_context, clear_log_context
from shopify_app.core.openapi import json_response, openapi_document, register_openapi

bp = Blueprint("ops", __name__)

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "clickstream_http_requests_total", "HTTP requests", ["endpoint", "method", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "clickstream_http_request_seconds",
    "HTTP request latency",
    ["endpoint"],
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class HookFailures(Collector):
    """`clickstream_hook_failures_total{hook}`: hook runs that raised (all processes with Redis)."""

    def collect(self) -> Any:
        family = CounterMetricFamily(
            "clickstream_hook_failures", "Hook runs that failed (logged with their error)", labels=["hook"]
        )
        if has_app_context():
            for name, count in sorted(hook_failure_counts().items()):
                family.add_metric([name], count)
        yield family


REGISTRY.register(HookFailures())


def _check_database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised: this is the health check
        db.session.rollback()
        return f"error: {type(exc).__name__}"


def _check_redis() -> str:
    client = get_redis()
    if client is None:
        return "disabled"
    try:
        client.ping()
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"error: {type(exc).__name__}"


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Database, Redis and ingest backlog; 503 when a required part is down."""
    body: dict[str, Any] = {"database": _check_database(), "redis": _check_redis()}
    body["pending_events"] = 0
    for name, probe in current_app.extensions.get("health_probes", {}).items():
        try:
            body[name] = probe()
        except Exception as exc:  # noqa: BLE001
            body[name] = f"error: {type(exc).__name__}"
    healthy = body["database"] == "ok" and body["redis"] in ("ok", "disabled")
    body["status"] = "ok" if healthy else "degraded"
    return jsonify(body), 200 if healthy else 503


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3 description of the public HTTP API."""
    return jsonify(openapi_document(current_app))


def _before() -> None:
    g.request_started = time.perf_counter()
    g.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
    bind_log_context(request_id=g.request_id)


def _after(response: Response) -> Response:
    endpoint = request.endpoint or "unmatched"
    started = g.get("request_started")
    if started is not None:
        LATENCY.labels(endpoint).observe(time.perf_counter() - started)
    REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    response.headers["X-Request-Id"] = g.get("request_id", "")
    return response


def init_app(app: Flask) -> None:
    """Register the ops routes, request instrumentation and their OpenAPI description."""
    app.register_blueprint(bp)
    app.before_request(_before)
    app.after_request(_after)
    app.teardown_request(lambda _exc: clear_log_context())
    register_openapi(
        app,
        {
            "/healthz": {
                "get": {
                    "summary": "Health of the database, Redis and the ingest backlog",
                    "responses": {
                        "200": json_response("Healthy", {"$ref": "#/components/schemas/Health"}),
                        "503": json_response(
                            "A required part is down", {"$ref": "#/components/schemas/Health"}
                        ),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {
                            "description": "Metrics",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": json_response("OpenAPI document", {"type": "object"})},
                }
            },
        },
        schemas={
            "Health": {
                "type": "object",
                "required": ["status", "database", "redis", "pending_events"],
                "properties": {
                    "status": {"type": "string", "enum": ["ok", "degraded"]},
                    "database": {"type": "string"},
                    "redis": {"type": "string"},
                    "pending_events": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                    "dead_letters": {"type": "integer", "description": "batches the writer moved aside"},
                    "writers": {
                        "type": "integer",
                        "description": "event writer processes alive now (with Redis); 0 while "
                        "pending_events grows means none is running",
                    },
                },
            }
        },
    )
