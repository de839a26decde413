"""Fixtures of the analytics tests: the local Shopify stand-in (for customer tag sync)."""

from tests.platform.conftest import standin  # noqa: F401 - re-exported fixture
