"""Who may send events: known installed shops, their own storefront origins, within rate limits.

Shops are looked up once a minute per process (the collector must not hit MySQL per request).
Rate limits are fixed one-minute windows in Redis, per client IP and per shop, checked in the
same Redis round trip that appends the batch; without Redis (the embedded, single-machine
default) there is nothing to share them through and none apply.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
from flask import current_app, g, request
from sqlalchemy import select

from analytics.ingest import spool, stream
from shopify_app.core.errors import Forbidden, RateLimited, ServiceUnavailable
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop
from shopify_app.core.shops import UnknownShop, require_shop_domain

SHOP_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class ShopRef:
    """What the collector needs of a shop."""

    id: int
    domain: str
    origins: frozenset[str]


_lock = threading.Lock()
_cache: dict[str, tuple[float, ShopRef | None]] = {}


def _origins(shop: Shop) -> frozenset[str]:
    extra = (shop.settings or {}).get("storefront_origins") or []
    return frozenset({f"https://{shop.domain}", *(str(o).rstrip("/") for o in extra)})


def active_shop(domain: str) -> ShopRef:
    """The installed shop with this domain (cached), or UnknownShop naming the field.

    The cache is keyed by the domain as sent, so a hit costs one dictionary lookup; the domain
    is checked and normalized only on a miss."""
    now = time.monotonic()
    cached = _cache.get(domain)
    if cached is None or cached[0] < now:
        name = require_shop_domain(domain)
        shop = db.session.execute(select(Shop).where(Shop.domain == name)).scalar_one_or_none()
        ref = ShopRef(shop.id, shop.domain, _origins(shop)) if shop is not None and shop.is_active else None
        cached = (now + SHOP_CACHE_SECONDS, ref)
        with _lock:
            _cache[domain] = cached
    if cached[1] is None:
        raise UnknownShop(f"{require_shop_domain(domain)} has not installed the app", field="shop")
    return cached[1]


def forget_shop(domain: str) -> None:
    """Drop a shop from this process's cache (after install or uninstall)."""
    with _lock:
        for key in [
            key for key, (_, ref) in _cache.items() if key == domain or (ref and ref.domain == domain)
        ]:
            _cache.pop(key, None)


@functools.lru_cache(maxsize=8)
def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def origin_allowed(origin: str, shop_origins: frozenset[str]) -> bool:
    """The shop's storefronts, the app's own demo storefront, or this server itself."""
    origin = origin.rstrip("/")
    return (
        origin in shop_origins
        or origin == _origin_of(current_app.config.get("SHOPIFY_APP_URL") or "")
        or origin == f"{request.scheme}://{request.host}"
    )


def check_origin(shop: ShopRef) -> None:
    """Browsers may send only from the shop's own storefront (or the app's demo storefront)."""
    origin = request.headers.get("Origin")
    g.ingest_shop_origins = shop.origins
    if origin and not origin_allowed(origin, shop.origins):
        raise Forbidden(f"events for {shop.domain} are not accepted from {origin}", field="shop")


def origin_allowed_for_request(origin: str) -> bool:
    """Whether to echo `origin` in CORS headers (preflights carry no shop: the POST decides)."""
    shop_origins = g.get("ingest_shop_origins")
    return shop_origins is None or origin_allowed(origin, shop_origins)


def _client_ip() -> str:
    return request.headers.get("X-Forwarded-For", request.remote_addr or "").split(",")[0].strip()


def admit_batch(client: redis.Redis, shop: ShopRef, batch: dict[str, Any], visitors: list[str]) -> list[str]:
    """Append the batch to the ingest stream unless this IP or shop is over its per-minute limit (429).

    With a spool directory configured (the default of a server with Redis) the batch goes to
    this process's spool and reaches the stream within ~50 ms (`analytics.ingest.spool`);
    without, in one Redis round trip. Which of `visitors` have a reply waiting for them."""
    window = int(time.time() // 60)
    config = current_app.config
    admission = stream.Admission(
        ip_key=f"cs:rl:ip:{_client_ip()}:{window}",
        shop_key=f"cs:rl:shop:{shop.id}:{window}",
        per_ip=int(config["INGEST_PER_IP_PER_MINUTE"]),
        per_shop=int(config["INGEST_PER_SHOP_PER_MINUTE"]),
        visitors=visitors,
    )
    try:
        if config.get("INGEST_SPOOL_DIR"):
            verdict, waiting = spool.for_process(
                config["INGEST_SPOOL_DIR"], config["REDIS_URL"], client
            ).admit(stream.parts(batch), shop.id, admission)
        else:
            verdict, waiting = stream.admit(client, stream.parts(batch), shop.id, admission)
    except (redis.RedisError, OSError):  # Redis unreachable, or the spool cannot be written
        raise ServiceUnavailable(
            "event ingestion is unavailable; keep the batch and retry", headers={"Retry-After": "5"}
        ) from None
    retry = {"Retry-After": str(60 - int(time.time()) % 60)}
    if verdict == stream.IP_LIMITED:
        raise RateLimited("too many events from this address; retry later", field="events", headers=retry)
    if verdict == stream.SHOP_LIMITED:
        raise RateLimited("too many events for this shop; retry later", field="shop", headers=retry)
    return waiting
