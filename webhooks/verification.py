"""Webhook authenticity: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body."""

from __future__ import annotations

import base64
import hashlib
import hmac


def webhook_hmac(secret: str, body: bytes) -> str:
    """The base64 signature Shopify sends for `body` signed with `secret`."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify_webhook(body: bytes, signature: str | None, secrets: list[str]) -> bool:
    """True when `signature` matches `body` under one of `secrets` (current, then previous)."""
    if not signature:
        return False
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(webhook_hmac(secret, body).encode(), signature.strip().encode())
    return matched
