"""The shared app proxy signature check the recommendation routes and the platform rely on."""

from __future__ import annotations

import hashlib
import hmac

from shopify_app.core.app_proxy import is_signed_app_proxy_query

SECRET = "hush"
NOW = 1_700_000_000


def _signed(params: list[tuple[str, str]], secret: str = SECRET) -> list[tuple[str, str]]:
    # Shopify's documented recipe, spelled out independently of the code under test.
    message = "".join(sorted(f"{key}={value}" for key, value in params))
    signature = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return [*params, ("signature", signature)]


def _query(**extra: str) -> list[tuple[str, str]]:
    return [("shop", "a.myshopify.com"), ("path_prefix", "/apps/cs"), ("timestamp", str(NOW)), *extra.items()]


def test_a_query_shopify_signed_is_accepted_with_the_current_or_previous_secret() -> None:
    assert is_signed_app_proxy_query(_signed(_query(limit="8")), [SECRET], now=NOW + 10)
    assert is_signed_app_proxy_query(_signed(_query()), ["new-secret", SECRET], now=NOW)


def test_a_tampered_wrongly_signed_or_stale_query_is_refused() -> None:
    signed = _signed(_query(limit="8"))
    tampered = [(key, "a-lot" if key == "limit" else value) for key, value in signed]
    assert not is_signed_app_proxy_query(tampered, [SECRET], now=NOW)
    assert not is_signed_app_proxy_query(_signed(_query(), "other"), [SECRET], now=NOW)
    assert not is_signed_app_proxy_query(_query(), [SECRET], now=NOW)
    assert not is_signed_app_proxy_query(signed, [SECRET], now=NOW + 3600)


def test_repeated_parameters_are_signed_comma_joined() -> None:
    params = [*_query(), ("ids", "1"), ("ids", "2")]
    message = "".join(sorted([*(f"{k}={v}" for k, v in _query()), "ids=1,2"]))
    signature = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    assert is_signed_app_proxy_query([*params, ("signature", signature)], [SECRET], now=NOW)
