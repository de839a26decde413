"""The factory builds a working app from defaults, the environment and test overrides."""

from __future__ import annotations

from typing import Any

from flask import Flask


def test_test_overrides_win_over_the_environment(make_app: Any) -> None:
    app: Flask = make_app(SESSION_TIMEOUT_MINUTES=45)
    assert app.config["SESSION_TIMEOUT_MINUTES"] == 45
    assert app.testing


def test_embedded_mode_runs_tasks_in_process(app: Flask) -> None:
    assert app.extensions["celery"].conf.task_always_eager is True
    assert app.extensions["redis"] is None


def test_replica_url_adds_a_read_bind(make_app: Any, test_database: Any) -> None:
    app = make_app(ENV={"DATABASE_REPLICA_URL": test_database.url})
    assert app.config["SQLALCHEMY_BINDS"] == {"replica": test_database.url}


def test_replica_reads_go_to_the_replica_engine(make_app: Any, test_database: Any) -> None:
    from shopify_app.core.extensions import db
    from shopify_app.core.replica import read_session

    app = make_app(ENV={"DATABASE_REPLICA_URL": test_database.url})
    with app.app_context():
        assert read_session().get_bind() is db.engines["replica"]
        assert read_session() is not db.session


def test_without_replica_reads_use_the_primary(app: Flask) -> None:
    from shopify_app.core.extensions import db
    from shopify_app.core.replica import read_session

    assert read_session() is db.session


def test_unknown_routes_answer_json_404(client: Any) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_start_page_says_what_to_open(client: Any) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "demo-shop.myshopify.com" in page
    assert 'href="/demo/store/"' in page
    assert 'href="/healthz"' in page
