"""Identity tokens: the app's signed word that a storefront visitor is a logged-in customer.

Shopify's app proxy tells the app who is logged in (`logged_in_customer_id` in the signed proxy
query). The identity handshake (`GET /apps/clickstream/identity`, through the proxy) turns that
into a short-lived token bound to the shop, the visitor and the customer; the tracker sends it
with its `identify` event and the collector checks it before the writer may link the visitor to
the customer. A customer id without a valid token is a claim: stored, never trusted.

A token is `<customer id>.<expiry, epoch seconds>.<signature>`; the signature is an HMAC-SHA256
(key derived from `SECRET_KEY`) over the shop domain, the visitor key, the customer id and the
expiry, so a token works only for the visitor and shop it was issued to, and only until it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from flask import current_app

TOKEN_SECONDS = 15 * 60
MAX_TOKEN = 128
CLAIM_PROP = "claimed_customer_id"
_PURPOSE = b"clickstream identity token v1"


def _key() -> bytes:
    # A key of its own, derived from the app's secret, so a token can never be mistaken for a
    # cookie or any other signature the app makes with SECRET_KEY.
    return hmac.new(str(current_app.config["SECRET_KEY"]).encode(), _PURPOSE, hashlib.sha256).digest()


def _signature(shop_domain: str, visitor_key: str, customer_id: int, expires: int) -> str:
    message = "\n".join([shop_domain, visitor_key, str(customer_id), str(expires)]).encode()
    digest = hmac.new(_key(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue_identity_token(
    shop_domain: str, visitor_key: str, customer_id: int, *, now: float | None = None
) -> tuple[str, int]:
    """A token saying `visitor_key` of `shop_domain` is Shopify customer `customer_id`, and its expiry."""
    expires = int(time.time() if now is None else now) + TOKEN_SECONDS
    return f"{customer_id}.{expires}.{_signature(shop_domain, visitor_key, customer_id, expires)}", expires


def verified_customer(
    token: str | None, shop_domain: str, visitor_key: str, *, now: float | None = None
) -> int | None:
    """The Shopify customer id `token` vouches for at this shop and visitor, or None (bad or expired)."""
    if not token or len(token) > MAX_TOKEN:
        return None
    customer, _, rest = token.partition(".")
    expires, _, signature = rest.partition(".")
    if not (customer.isascii() and customer.isdigit() and expires.isascii() and expires.isdigit()):
        return None
    if len(customer) > 19 or int(expires) < (time.time() if now is None else now):
        return None
    expected = _signature(shop_domain, visitor_key, int(customer), int(expires))
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return None
    return int(customer)


def settle_claims(shop_domain: str, events: list[dict[str, Any]]) -> None:
    """Keep a customer id on an event only as `signed_customer_id` when its token verifies.

    Any other customer id is a claim: it moves into the event's props (`claimed_customer_id`),
    where it is stored and never links the visitor, creates a customer or merges histories. The
    token itself is never stored."""
    for event in events:
        token = event.pop("identity_token", None)
        claimed = event.pop("customer_id", None)
        signed = verified_customer(token, shop_domain, event["visitor_id"]) if token else None
        if signed is not None and claimed in (None, signed):
            event["signed_customer_id"] = signed
        elif claimed is not None:
            event["props"] = {**(event.get("props") or {}), CLAIM_PROP: claimed}
