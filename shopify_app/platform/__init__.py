"""Shopify platform: install and token exchange, OAuth, GraphQL client, catalog sync."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register install and auth routes (filled by the Shopify platform issue)."""
