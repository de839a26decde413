"""Who may send events: known installed shops, their own storefront origins, within rate limits.

Shops are looked up once a minute per process (the collector must not hit MySQL per request), in
a cache of at most `SHOP_CACHE_SIZE` domains that also remembers unknown ones for the minute.
Lookups that find no installed shop are limited per client IP and per process
(`LOOKUPS_PER_IP_PER_MINUTE`, `LOOKUPS_PER_MINUTE`): past them a domain not known as a shop is
answered 429 without a query, so a flood of made-up domains costs at most that many queries a
minute per process and its cache stays within `SHOP_CACHE_SIZE`.

Rate limits are fixed one-minute windows in Redis, per client IP and per shop, checked in the
same Redis round trip that appends the batch. The IP is checked first and only requests it admits
count toward the shop, so one address flooding a shop is refused without taking the shop's
allowance from its other shoppers. The client IP is the socket's peer, or the address the trusted
proxies in front saw (`TRUSTED_PROXY_COUNT`, applied with Werkzeug's ProxyFix in the app factory):
a client's own `X-Forwarded-For` is never believed. The widget routes (`GET /api/<widget>/`) are
limited the same way with their own limits. Without Redis (the embedded, single-machine default)
there is nothing to share the rate limits through and none apply.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
from flask import current_app, g, request
from sqlalchemy import select

from analytics.ingest import spool, stream
from shopify_app.core.errors import Forbidden, RateLimited, ServiceUnavailable
from shopify_app.core.extensions import db, get_redis
from shopify_app.core.models import Shop
from shopify_app.core.shops import UnknownShop, require_shop_domain

SHOP_CACHE_SECONDS = 60.0
SHOP_CACHE_SIZE = 10_000  # domains (installed shops and unknown ones) a process remembers
LOOKUPS_PER_IP_PER_MINUTE = 60  # lookups finding no installed shop, per client IP and process
LOOKUPS_PER_MINUTE = 600  # the same, per process in all


@dataclass(frozen=True)
class ShopRef:
    """What the collector needs of a shop."""

    id: int
    domain: str
    origins: frozenset[str]


class ShopCache:
    """Domains looked up recently, oldest first: at most `size`, each for `ttl_s` seconds."""

    def __init__(self, size: int, ttl_s: float) -> None:
        self.size, self.ttl_s = size, ttl_s
        self.entries: OrderedDict[str, tuple[float, ShopRef | None]] = OrderedDict()

    def get(self, domain: str, now: float) -> tuple[float, ShopRef | None] | None:
        """The fresh entry for `domain` (a shop, or None for an unknown domain), else None."""
        cached = self.entries.get(domain)
        return cached if cached is not None and cached[0] >= now else None

    def put(self, domain: str, ref: ShopRef | None, now: float) -> tuple[float, ShopRef | None]:
        """Remember a lookup (the oldest entries go beyond `size`). Called with `_lock` held."""
        entry = (now + self.ttl_s, ref)
        self.entries.pop(domain, None)
        self.entries[domain] = entry
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)
        return entry


class LookupBudget:
    """How many more domains that turn out not to be shops this process looks up this minute.

    Only lookups that find no installed shop are charged, so a new shop's first requests never
    wait; an address (or the process) that used its share is refused before any query."""

    def __init__(self, per_ip: int, total: int) -> None:
        self.per_ip, self.total = per_ip, total
        self.window = 0
        self.counts: dict[str, int] = {}  # at most `total` addresses: only charged lookups add one
        self.spent = 0

    def _roll(self) -> None:
        window = int(time.time() // 60)
        if window != self.window:
            self.window, self.counts, self.spent = window, {}, 0

    def allows(self, ip: str) -> bool:
        """Whether `ip` may look up one more domain now. Called with `_lock` held."""
        self._roll()
        return self.counts.get(ip, 0) < self.per_ip and self.spent < self.total

    def charge(self, ip: str) -> None:
        """A lookup from `ip` found no installed shop. Called with `_lock` held."""
        self._roll()
        self.counts[ip] = self.counts.get(ip, 0) + 1
        self.spent += 1


_lock = threading.Lock()
_cache = ShopCache(SHOP_CACHE_SIZE, SHOP_CACHE_SECONDS)
_budget = LookupBudget(LOOKUPS_PER_IP_PER_MINUTE, LOOKUPS_PER_MINUTE)
_known: set[str] = set()  # domains found installed once: refreshing them spends no budget


def _origins(shop: Shop) -> frozenset[str]:
    extra = (shop.settings or {}).get("storefront_origins") or []
    return frozenset({f"https://{shop.domain}", *(str(o).rstrip("/") for o in extra)})


def active_shop(domain: str) -> ShopRef:
    """The installed shop with this domain (cached), or UnknownShop naming the field.

    The cache is keyed by the normalized domain, which trackers send as is, so a hit usually
    costs one dictionary lookup; the domain is checked and normalized only otherwise. A domain
    not known as a shop is looked up only within the lookup budget (else 429)."""
    now = time.monotonic()
    cached = _cache.get(domain, now)
    if cached is None:
        name = require_shop_domain(domain)
        cached = _cache.get(name, now) if name != domain else None
        if cached is None:
            cached = _look_up(name, now)
    if cached[1] is None:
        raise UnknownShop(f"{require_shop_domain(domain)} has not installed the app", field="shop")
    return cached[1]


def _look_up(name: str, now: float) -> tuple[float, ShopRef | None]:
    ip = client_ip()
    with _lock:
        allowed = name in _known or _budget.allows(ip)
    if not allowed:
        raise RateLimited(
            "too many lookups of shops that have not installed the app from this address; retry later",
            field="shop",
            headers={"Retry-After": str(60 - int(time.time()) % 60)},
        )
    shop = db.session.execute(select(Shop).where(Shop.domain == name)).scalar_one_or_none()
    ref = ShopRef(shop.id, shop.domain, _origins(shop)) if shop is not None and shop.is_active else None
    with _lock:
        if ref is not None:
            _known.add(name)
        elif name not in _known:
            _budget.charge(ip)
        return _cache.put(name, ref, now)


def forget_shop(domain: str) -> None:
    """Drop a shop from this process's cache (after install or uninstall)."""
    with _lock:
        for key in [
            key for key, (_, ref) in _cache.entries.items() if key == domain or (ref and ref.domain == domain)
        ]:
            _cache.entries.pop(key, None)


def forget_all_shops() -> None:
    """Empty this process's shop cache and lookup budget (tests)."""
    with _lock:
        _cache.entries.clear()
        _known.clear()
        _budget.window = 0


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


def client_ip() -> str:
    """The client's address: the socket's peer, or what the trusted proxies saw (ProxyFix).

    Through Shopify's app proxy (signature verified) that address is Shopify's; the shopper's is
    the `X-Forwarded-For` entry Shopify added, the one left of those our own proxies added."""
    if g.get("signed_by_app_proxy"):
        hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
        ours = int(current_app.config.get("TRUSTED_PROXY_COUNT") or 0)
        if len(hops) > ours:
            return hops[len(hops) - ours - 1]
    return request.remote_addr or ""


def admit_batch(client: redis.Redis, shop: ShopRef, batch: dict[str, Any], visitors: list[str]) -> list[str]:
    """Append the batch to the ingest stream unless this IP or shop is over its per-minute limit (429).

    With a spool directory configured (the default of a server with Redis) the batch goes to
    this process's spool and reaches the stream within ~50 ms (`analytics.ingest.spool`);
    without, in one Redis round trip. Which of `visitors` have a reply waiting for them."""
    window = int(time.time() // 60)
    config = current_app.config
    admission = stream.Admission(
        ip_key=f"cs:rl:ip:{client_ip()}:{window}",
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


# Count a widget request against its client IP's limit and, only when that admits it, the shop's.
# KEYS: the two counters. ARGV: the two limits. Answers 1, or IP_LIMITED / SHOP_LIMITED.
_COUNT = """
local ip = redis.call('INCR', KEYS[1])
if ip == 1 then redis.call('EXPIRE', KEYS[1], 120) end
if ip > tonumber(ARGV[1]) then return -1 end
local shop = redis.call('INCR', KEYS[2])
if shop == 1 then redis.call('EXPIRE', KEYS[2], 120) end
if shop > tonumber(ARGV[2]) then return -2 end
return 1
"""
_COUNT_SHA = hashlib.sha1(_COUNT.encode(), usedforsecurity=False).hexdigest()  # Redis names scripts by SHA-1


def check_widget_rate(shop: ShopRef) -> None:
    """Refuse a widget request (429) past its IP's or its shop's per-minute limit (with Redis only).

    Redis unreachable: the widget is answered unlimited rather than refused (it is a page's
    extra, and the collector's 503 already says Redis is down)."""
    client = get_redis()
    if client is None:
        return
    window = int(time.time() // 60)
    config = current_app.config
    keys = [f"cs:rl:widget-ip:{client_ip()}:{window}", f"cs:rl:widget-shop:{shop.id}:{window}"]
    limits = [int(config["WIDGET_PER_IP_PER_MINUTE"]), int(config["WIDGET_PER_SHOP_PER_MINUTE"])]
    try:
        try:
            verdict = int(client.evalsha(_COUNT_SHA, 2, *keys, *limits))
        except redis.exceptions.NoScriptError:
            client.script_load(_COUNT)
            verdict = int(client.evalsha(_COUNT_SHA, 2, *keys, *limits))
    except (redis.RedisError, OSError):
        return
    retry = {"Retry-After": str(60 - int(time.time()) % 60)}
    if verdict == stream.IP_LIMITED:
        raise RateLimited("too many widget requests from this address; retry later", headers=retry)
    if verdict == stream.SHOP_LIMITED:
        raise RateLimited("too many widget requests for this shop; retry later", field="shop", headers=retry)
