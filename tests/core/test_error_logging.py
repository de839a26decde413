"""A failing statement's values (emails, URLs, event values) reach neither its message nor a log line."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask, request
from sqlalchemy.exc import IntegrityError

from shopify_app.core.logging import describe_error, error_frames
from shopify_app.core.models import Customer


def test_a_database_error_hides_its_parameters_and_is_described_by_class_and_code(
    app: Flask, db: Any, shop: Any
) -> None:
    email = "private.person@example.com"
    db.session.add(Customer(shop_id=shop.id, shopify_id=5, email="first@example.com"))
    db.session.flush()
    db.session.add(Customer(shop_id=shop.id, shopify_id=5, email=email))
    with pytest.raises(IntegrityError) as failed:
        db.session.flush()
    db.session.rollback()
    assert email not in str(failed.value)  # the engine's hide_parameters
    described = describe_error(failed.value)
    assert described.startswith("IntegrityError (IntegrityError")
    if db.engine.dialect.name != "sqlite":
        assert described == "IntegrityError (IntegrityError 1062)"
    assert "flush" in error_frames(failed.value)


def test_an_unexpected_error_in_a_request_is_logged_without_its_message(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()

    @app.get("/__test_fails_with_a_value")
    def fails() -> str:
        return str(int(request.args["v"]))  # a ValueError quoting what was sent

    caplog.set_level(logging.INFO)
    response = app.test_client().get(
        "/__test_fails_with_a_value", query_string={"v": "private.person@example.com"}
    )
    assert response.status_code == 500
    assert "unhandled error: ValueError" in caplog.text
    assert "private.person@example.com" not in caplog.text
    assert all("private.person@example.com" not in str(vars(record)) for record in caplog.records)
