"""`/healthz` reports the database, Redis and the ingest backlog; `/metrics` is Prometheus."""

from __future__ import annotations

from typing import Any


def test_healthz_reports_database_and_backlog_in_embedded_mode(client: Any) -> None:
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["redis"] == "disabled"
    assert body["pending_events"] == 0


def test_healthz_is_503_when_configured_redis_is_unreachable(make_app: Any) -> None:
    app = make_app(ENV={"REDIS_URL": "redis://127.0.0.1:1/0"})
    with app.app_context():
        response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["redis"].startswith("error")


def test_healthz_pings_real_redis(make_app: Any, redis_url: str) -> None:
    app = make_app(ENV={"REDIS_URL": redis_url})
    with app.app_context():
        body = app.test_client().get("/healthz").get_json()
    assert body["redis"] == "ok"


def test_metrics_count_requests_by_endpoint(client: Any) -> None:
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'clickstream_http_requests_total{endpoint="ops.healthz",method="GET",status="200"}' in text
