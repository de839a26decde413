"""Fixtures for webhook tests: Shopify's signed deliveries, posted to the app."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from shopify_app.standin import ShopifyStandin
from tests.platform.conftest import catalog_changes  # noqa: F401 - shared fixture


@pytest.fixture
def shopify(app: Flask) -> ShopifyStandin:
    """Shopify's signing side (no server needed to sign a webhook)."""
    return ShopifyStandin(app.config["SHOPIFY_API_KEY"], app.config["SHOPIFY_API_SECRET"])


@pytest.fixture
def deliver(client: Any, shopify: ShopifyStandin) -> Any:
    """POST a signed webhook for `topic` to its endpoint; returns the response."""

    def post(
        topic: str, domain: str, payload: dict[str, Any] | bytes, *, path: str | None = None, **options: Any
    ) -> Any:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = shopify.webhook_headers(topic, domain, body, **options)
        return client.post(path or f"/webhooks/{topic}", data=body, headers=headers)

    return post
