"""`/openapi.json` describes every public JSON route, and the app honours it (schemathesis)."""

from __future__ import annotations

import re
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

# Pages for people (HTML), static files and the CLI-only dev server are not part of the API.
NOT_API = re.compile(r"^/($|static/|storefront/|demo/store|admin(/|$)(?!api/)|auth/|bounce)")


EXAMPLES_PER_OPERATION = 10


def openapi_path(rule: str) -> str:
    """Flask's `<int:id>` as OpenAPI's `{id}`."""
    return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule)


def test_every_public_route_is_described(app: Flask, client: Any) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    missing = []
    for rule in app.url_map.iter_rules():
        path = openapi_path(rule.rule)
        if NOT_API.match(path):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (path, method.lower()) not in documented:
                missing.append(f"{method} {path}")
    assert missing == []


def test_every_described_route_exists(app: Flask, client: Any) -> None:
    spec = client.get("/openapi.json").get_json()
    routes = {openapi_path(rule.rule) for rule in app.url_map.iter_rules()}
    assert sorted(set(spec["paths"]) - routes) == []


def test_api_answers_generated_requests_without_5xx_or_schema_breaks(app: Flask, session_token: str) -> None:
    """Schemathesis generates bounded requests for every operation; each must pass both checks."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: Any) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {session_token}"},
                checks=[not_a_server_error, response_schema_conformance],
            )

        try:
            exercise()
        except Exception as exc:  # noqa: BLE001 - collected so one run reports every operation
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert failures == []
