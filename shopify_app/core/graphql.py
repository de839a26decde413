"""The GraphQL Admin API client every package calls Shopify through.

    ShopifyApiError (502, "shopify_api_error")     Shopify answered with something we cannot use
    ├── GraphQLErrors ("shopify_graphql_errors")     top-level `errors` (never a silent empty result)
    │   └── UserErrors ("shopify_user_errors")       a mutation's `userErrors` were not empty
    ├── ShopifyThrottled ("shopify_throttled")       still THROTTLED after every retry
    └── ShopifyUnreachable ("shopify_unreachable")   5xx / network errors after every retry

Throttling is cost based and arrives as HTTP 200 with `errors[].extensions.code == "THROTTLED"`;
we wait for the bucket to refill (`throttleStatus`) and retry. A 401 means the access token
expired or was revoked: we refresh it once (`shopify_app.core.auth.access_token_for`) and retry.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import requests
from flask import current_app

from shopify_app.core.errors import AppError
from shopify_app.core.models import Shop

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
MAX_ATTEMPTS = 5
MAX_WAIT_SECONDS = 20.0


class ShopifyApiError(AppError):
    """Shopify answered with something we cannot use."""

    status = 502
    code = "shopify_api_error"


class GraphQLErrors(ShopifyApiError):
    """The query failed: Shopify returned top-level `errors`."""

    code = "shopify_graphql_errors"

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class UserErrors(GraphQLErrors):
    """A mutation was refused: its payload carried `userErrors`."""

    code = "shopify_user_errors"


class ShopifyThrottled(ShopifyApiError):
    """Still throttled after every retry."""

    code = "shopify_throttled"


class ShopifyUnreachable(ShopifyApiError):
    """Shopify kept failing with 5xx or network errors."""

    code = "shopify_unreachable"


def sleep(seconds: float) -> None:
    """Wait (a module function so tests can count the waits)."""
    time.sleep(seconds)


def api_base_url(domain: str) -> str:
    """Where the shop's Admin API lives (`SHOPIFY_API_BASE_URL`, a local stand-in in tests)."""
    base: str = current_app.config["SHOPIFY_API_BASE_URL"]
    return base.replace("{shop}", domain).rstrip("/")


def graphql_url(domain: str) -> str:
    """The versioned GraphQL Admin endpoint of a shop."""
    version = current_app.config["SHOPIFY_API_VERSION"]
    return f"{api_base_url(domain)}/admin/api/{version}/graphql.json"


def graphql(shop: Shop, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run `query` for `shop` and return its `data`; raises a ShopifyApiError subclass on failure."""
    from shopify_app.core.auth import access_token_for

    max_attempts = int(current_app.config.get("SHOPIFY_GRAPHQL_MAX_ATTEMPTS", MAX_ATTEMPTS))
    token = access_token_for(shop)
    refreshed = False
    body = {"query": query, "variables": variables or {}}
    last_problem = "no attempt made"
    for attempt in range(1, max_attempts + 1):
        try:
            response = requests.post(
                graphql_url(shop.domain),
                json=body,
                headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            )
        except requests.RequestException as exc:
            last_problem = f"network error: {type(exc).__name__}"
            _backoff(attempt, max_attempts)
            continue
        if response.status_code == 401 and not refreshed:
            token = access_token_for(shop, force_refresh=True)
            refreshed = True
            continue
        if response.status_code >= 500 or response.status_code == 429:
            last_problem = f"HTTP {response.status_code}"
            _backoff(attempt, max_attempts, retry_after=response.headers.get("Retry-After"))
            continue
        if response.status_code != 200:
            raise ShopifyApiError(f"Shopify GraphQL answered HTTP {response.status_code}")
        payload = _json(response)
        wait = throttle_wait(payload)
        if wait is not None:
            last_problem = "throttled"
            if attempt < max_attempts:
                log.info("shopify throttled; waiting %.2fs", wait)
                sleep(wait)
            continue
        return checked_data(payload)
    if last_problem == "throttled":
        raise ShopifyThrottled(f"Shopify kept throttling after {max_attempts} attempts")
    raise ShopifyUnreachable(f"Shopify GraphQL failed after {max_attempts} attempts ({last_problem})")


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        raise ShopifyApiError("Shopify GraphQL answered with a body that is not JSON") from None
    if not isinstance(payload, dict):
        raise ShopifyApiError("Shopify GraphQL answered with a JSON body that is not an object")
    return payload


def _backoff(attempt: int, max_attempts: int, *, retry_after: str | None = None) -> None:
    if attempt >= max_attempts:
        return
    delay = min(MAX_WAIT_SECONDS, 0.5 * 2 ** (attempt - 1))
    if retry_after:
        with contextlib.suppress(ValueError):
            delay = min(MAX_WAIT_SECONDS, float(retry_after))
    sleep(delay)


def throttle_wait(payload: dict[str, Any]) -> float | None:
    """Seconds to wait before retrying a THROTTLED answer, or None when it was not throttled."""
    errors = payload.get("errors") or []
    if not isinstance(errors, list) or not any(
        isinstance(error, dict) and (error.get("extensions") or {}).get("code") == "THROTTLED"
        for error in errors
    ):
        return None
    cost = (payload.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    requested = float(cost.get("requestedQueryCost") or 0)
    available = float(status.get("currentlyAvailable") or 0)
    restore_rate = float(status.get("restoreRate") or 0)
    if restore_rate <= 0:
        return 1.0
    return min(MAX_WAIT_SECONDS, max(0.0, requested - available) / restore_rate)


def checked_data(payload: dict[str, Any]) -> dict[str, Any]:
    """The `data` of an answer, after refusing top-level `errors` and mutation `userErrors`."""
    errors = payload.get("errors")
    if errors:
        messages = (
            "; ".join(str(error.get("message", error)) for error in errors if isinstance(error, dict))
            if isinstance(errors, list)
            else str(errors)
        )
        raise GraphQLErrors(f"Shopify GraphQL errors: {messages}", errors if isinstance(errors, list) else [])
    data = payload.get("data")
    if not isinstance(data, dict):
        raise GraphQLErrors("Shopify GraphQL answered without data")
    for name, result in data.items():
        user_errors = result.get("userErrors") if isinstance(result, dict) else None
        if user_errors:
            messages = "; ".join(str(error.get("message", error)) for error in user_errors)
            raise UserErrors(f"{name} refused: {messages}", user_errors)
    return data
