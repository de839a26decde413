"""Fixtures for the Shopify platform tests: a running stand-in the app is pointed at."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from shopify_app.standin import ShopifyStandin


@pytest.fixture
def standin(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[ShopifyStandin]:
    """A local Shopify the session app talks to for this test."""
    server = ShopifyStandin(app.config["SHOPIFY_API_KEY"], app.config["SHOPIFY_API_SECRET"]).start()
    monkeypatch.setitem(app.config, "SHOPIFY_API_BASE_URL", server.base_url)
    yield server
    server.stop()


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client's waits (throttle and backoff), recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr("shopify_app.core.graphql.sleep", recorded.append)
    return recorded


def install(domain: str) -> Any:
    """Install `domain` the Shopify-managed way: token exchange of a fresh session token."""
    from shopify_app.core.auth import exchange_session_token, mint_session_token
    from shopify_app.core.extensions import db
    from shopify_app.core.models import Shop
    from shopify_app.platform.install import install_shop

    grant = exchange_session_token(domain, mint_session_token(domain))
    return db.session.get(Shop, install_shop(domain, grant, required_scopes="read_products"))


@pytest.fixture
def catalog_changes(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, list[int]]]:
    """Calls of the `catalog_changed` hook during the test."""
    calls: list[tuple[int, list[int]]] = []
    hooks = dict(app.extensions.get("hooks", {}))
    hooks["catalog_changed"] = [
        *hooks.get("catalog_changed", []),
        lambda shop_id, ids: calls.append((shop_id, ids)),
    ]
    monkeypatch.setitem(app.extensions, "hooks", hooks)
    return calls
