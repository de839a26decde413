"""Every published vector in ../shared/shopify/test_vectors.json, through the app's own code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import jwt.api_jwt
import pytest
from flask import Flask

from shopify_app.core.auth import InvalidSessionToken, decode_session_token, shop_domain_from_claims
from shopify_app.core.shops import sanitize_shop_domain
from shopify_app.platform.embedded import decode_host
from shopify_app.platform.signatures import (
    app_proxy_message,
    app_proxy_signature,
    oauth_hmac,
    oauth_message,
    parse_query,
    verify_app_proxy_query,
    verify_oauth_query,
)
from tests.conftest import SHARED
from webhooks.verification import verify_webhook, webhook_hmac

VECTORS: dict[str, Any] = json.loads((SHARED / "shopify" / "test_vectors.json").read_text())


def _pairs_from_message(message: str) -> list[tuple[str, str]]:
    return [tuple(part.split("=", 1)) for part in message.split("&")]  # type: ignore[misc]


@pytest.mark.parametrize("vector", VECTORS["oauth_hmac_hex"][:2], ids=lambda v: v["message"][:30])
def test_oauth_hmac_vectors_match_and_verify(vector: dict[str, Any]) -> None:
    pairs = parse_query(vector.get("query") or vector["message"] + "&hmac=" + vector["expected"])
    assert oauth_message(pairs) == vector["message"]
    assert oauth_hmac(vector["secret"], pairs) == vector["expected"]
    assert verify_oauth_query(pairs, ["other-secret", vector["secret"]])
    assert not verify_oauth_query(pairs, ["other-secret"])
    tampered = [(k, v + "x" if k == "shop" else v) for k, v in pairs]
    assert not verify_oauth_query(tampered, [vector["secret"]])


def test_oauth_hmac_of_list_params_uses_shopify_list_form() -> None:
    vector = VECTORS["oauth_hmac_hex"][2]
    pairs = [("ids[]", "2"), ("ids[]", "1"), ("shop", "some-shop.myshopify.com")]
    assert oauth_message(pairs) == vector["message"]
    assert oauth_hmac(vector["secret"], pairs) == vector["expected"]


def test_oauth_hmac_escapes_ampersand_and_equals() -> None:
    vector = VECTORS["oauth_hmac_hex"][3]
    pairs = [("a", "1&b=2"), ("c=3&d", "4")]
    assert oauth_message(pairs) == vector["message"]
    expected = hmac.new(b"secret", vector["message"].encode(), hashlib.sha256).hexdigest()
    assert oauth_hmac("secret", pairs) == expected


@pytest.mark.parametrize("vector", VECTORS["app_proxy_signature_hex"], ids=lambda v: v["expected"][:8])
def test_app_proxy_vectors_match_and_verify(vector: dict[str, Any]) -> None:
    if "query" in vector:
        pairs = parse_query(vector["query"])
        assert app_proxy_message(pairs) == vector["message"]
        assert verify_app_proxy_query(pairs, [vector["secret"]])
        assert not verify_app_proxy_query(pairs, ["wrong"])
        assert not verify_app_proxy_query(parse_query(vector["query"] + "&evil=1"), [vector["secret"]])
    else:
        pairs = [(k, v) for k, v in (p.split("=", 1) for p in _split_proxy_message(vector["message"]))]
        assert app_proxy_message(pairs) == vector["message"]
    assert app_proxy_signature(vector["secret"], pairs) == vector["expected"]


def _split_proxy_message(message: str) -> list[str]:
    keys = ("extra=", "logged_in_customer_id=", "path_prefix=", "shop=", "timestamp=")
    starts = sorted(message.index(key) for key in keys if key in message)
    return [message[a:b] for a, b in zip(starts, [*starts[1:], len(message)], strict=True)]


@pytest.mark.parametrize("vector", VECTORS["webhook_hmac_base64"], ids=lambda v: v["expected"][:8])
def test_webhook_hmac_vectors_verify(vector: dict[str, Any]) -> None:
    body = (
        (SHARED / "shopify" / vector["body_file"]).read_bytes()
        if "body_file" in vector
        else vector["body"].encode()
    )
    assert webhook_hmac(vector["secret"], body) == vector["expected"]
    assert verify_webhook(body, vector["expected"], ["current-secret", vector["secret"]])
    assert not verify_webhook(body + b" ", vector["expected"], [vector["secret"]])
    assert not verify_webhook(body, vector["expected"], ["current-secret"])
    assert not verify_webhook(body, None, [vector["secret"]])


JWT_VECTOR = VECTORS["session_token_jwt_hs256"][0]


def _at(monkeypatch: pytest.MonkeyPatch, timestamp: int) -> None:
    class FrozenDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> FrozenDatetime:  # type: ignore[override]
            return cls.fromtimestamp(timestamp, tz or UTC)

    monkeypatch.setattr(jwt.api_jwt, "datetime", FrozenDatetime)


@pytest.mark.parametrize(
    ("label", "accepted"),
    [(k, v.startswith("OK")) for k, v in JWT_VECTOR["observed_with_shopifyapi_12_7_0_and_freezegun"].items()],
)
def test_session_token_vector_verdicts(
    app: Flask, monkeypatch: pytest.MonkeyPatch, label: str, accepted: bool
) -> None:
    timestamp = int(label.split()[0]) if label[0].isdigit() else 1591765000
    secret = "wrong" if label.startswith("secret=") else JWT_VECTOR["secret"]
    aud = "wrong-aud" if label.startswith("aud=") else JWT_VECTOR["api_key_aud"]
    monkeypatch.setitem(app.config, "SHOPIFY_API_SECRET", secret)
    monkeypatch.setitem(app.config, "SHOPIFY_API_KEY", aud)
    _at(monkeypatch, timestamp)
    with app.test_request_context():
        if accepted:
            claims = decode_session_token(JWT_VECTOR["token"])
            assert claims == JWT_VECTOR["payload"]
            assert shop_domain_from_claims(claims) == "exampleshop.myshopify.com"
        else:
            with pytest.raises(InvalidSessionToken):
                decode_session_token(JWT_VECTOR["token"])


def test_session_token_signed_with_previous_secret_is_accepted_during_rotation(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SHOPIFY_API_SECRET", "new-secret")
    monkeypatch.setitem(app.config, "SHOPIFY_API_SECRET_PREVIOUS", JWT_VECTOR["secret"])
    monkeypatch.setitem(app.config, "SHOPIFY_API_KEY", JWT_VECTOR["api_key_aud"])
    _at(monkeypatch, 1591765000)
    with app.test_request_context():
        assert decode_session_token(JWT_VECTOR["token"])["sub"] == "42"


@pytest.mark.parametrize(
    ("given", "expected"),
    [(k, v) for k, v in VECTORS["shop_domain_sanitize_shopifyapi_12_7_0"].items() if k != "source"],
)
def test_shop_domain_sanitising_vectors(given: str, expected: str | None) -> None:
    assert sanitize_shop_domain(given) == expected


@pytest.mark.parametrize("given", ["[^a-z0-9]", "https://[shop].myshopify.com", "a[b]", "["])
def test_a_shop_domain_the_url_parser_refuses_is_no_shop_domain(given: str) -> None:
    assert sanitize_shop_domain(given) is None  # found by the API fuzz test: it raised (a 500)


def test_host_param_decodes_without_padding() -> None:
    vector = VECTORS["host_param"]
    assert decode_host(vector["example"]) == vector["decodes_to"]
    assert decode_host(base64.b64encode(b"evil.example.com/admin").decode()) is None


def test_a_session_token_without_exp_is_refused_though_its_signature_holds(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The vector's own claims minus `exp`, signed with its secret: PyJWT alone would accept it forever."""
    monkeypatch.setitem(app.config, "SHOPIFY_API_SECRET", JWT_VECTOR["secret"])
    monkeypatch.setitem(app.config, "SHOPIFY_API_KEY", JWT_VECTOR["api_key_aud"])
    _at(monkeypatch, 1591765000)
    claims = {key: value for key, value in JWT_VECTOR["payload"].items() if key != "exp"}
    token = jwt.encode(claims, JWT_VECTOR["secret"], algorithm="HS256")
    with app.test_request_context():
        assert decode_session_token(JWT_VECTOR["token"])["exp"] == 1591765058  # the vector itself passes
        with pytest.raises(InvalidSessionToken, match="exp"):
            decode_session_token(token)
        _at(monkeypatch, 1591765000 + 10 * 365 * 86400)  # years later it would still have worked
        with pytest.raises(InvalidSessionToken, match="exp"):
            decode_session_token(token)
