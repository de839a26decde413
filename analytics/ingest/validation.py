"""The event wire format: checking a batch and turning it into what the writer stores.

A batch is `{"shop", "sent_at", "events": [...]}`; every problem is a BadRequest naming the field
(`events[3].ts`). Client clocks are corrected by the batch's own offset
(`ts_server = ts_client + (received_at - sent_at)`); a time still in the future is clamped to
the moment of receipt, one older than `MAX_AGE` is refused (history goes through
`clickstream import-events`, which passes `max_age=None`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from shopify_app.core.errors import BadRequest

MAX_EVENTS = 100
MAX_AGE_MS = 7 * 24 * 3600 * 1000
MAX_PROPS_BYTES = 8 * 1024
MAX_URL = 2048
MAX_KEY = 64
MAX_IDENTITY_TOKEN = 128  # analytics.identity_tokens: `<customer>.<expiry>.<signature>`
UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_:.-]{0,63}$")
STANDARD_TYPES = frozenset(
    {
        "page_view",
        "product_view",
        "collection_view",
        "search",
        "add_to_cart",
        "remove_from_cart",
        "checkout_started",
        "purchase",
        "identify",
    }
)
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign")


def _field(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


# Field names are passed as (where, name) and joined only for an error: building them for every
# field of every event was a visible share of the collector's time.
def _integer(value: Any, where: str, name: str, *, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool):
        raise BadRequest(f"{_field(where, name)} must be an integer", field=_field(where, name))
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise BadRequest(f"{_field(where, name)} must be an integer", field=_field(where, name))


def _text(value: Any, where: str, name: str, limit: int, *, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise BadRequest(f"{_field(where, name)} is required", field=_field(where, name))
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{_field(where, name)} must be a string", field=_field(where, name))
    if len(value) > limit:
        raise BadRequest(
            f"{_field(where, name)} is longer than {limit} characters", field=_field(where, name)
        )
    return value


def _present_text(value: Any, where: str, name: str, limit: int) -> str:
    """A required string field (the common case, a short string, costs two comparisons)."""
    if type(value) is str and 0 < len(value) <= limit:
        return value
    checked = _text(value, where, name, limit, required=True)
    assert checked is not None
    return checked


def _utm(url: str) -> dict[str, str | None]:
    query = parse_qs(urlsplit(url).query)
    found: dict[str, str | None] = {}
    for name in UTM_FIELDS:
        values = query.get(name)
        found[name] = values[0][:255] if values else None
    return found


def _props(value: Any, field: str, kind: str) -> dict[str, Any]:
    if value is None or value == {}:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{field} must be an object", field=field)
    if len(orjson.dumps(value)) > MAX_PROPS_BYTES:
        raise BadRequest(f"{field} is larger than {MAX_PROPS_BYTES} bytes", field=field)
    if kind == "purchase":
        raw_value = value.get("value")
        if raw_value is not None and (
            isinstance(raw_value, bool) or not isinstance(raw_value, int | float | str)
        ):
            raise BadRequest(f"{field}.value must be a number", field=f"{field}.value")
        try:
            float(raw_value or 0)
        except ValueError:
            raise BadRequest(f"{field}.value must be a number", field=f"{field}.value") from None
        items = value.get("items")
        if items is not None and not isinstance(items, list):
            raise BadRequest(f"{field}.items must be a list", field=f"{field}.items")
    return value


def normalize_event(
    raw: Any, index: int, *, offset_ms: int, received_ms: int, max_age: int | None, clamp: bool = True
) -> dict[str, Any]:
    """One checked event with its server time (`ts`) and its client time (`client_ts`).

    Optional fields that are empty are left out (the writer reads them with `.get`), which keeps
    the ingest stream's entries small. The usual event (a string id and type, an integer time,
    no props) is checked with plain comparisons; anything else goes through the helpers, which
    name the bad field."""
    where = f"events[{index}]"
    if not isinstance(raw, dict):
        raise BadRequest(f"{where} must be an object", field=where)
    get = raw.get
    event_id = _present_text(get("id"), where, "id", 36)
    if not UUID_PATTERN.match(event_id):
        raise BadRequest(f"{where}.id must be a UUID", field=f"{where}.id")
    kind = _present_text(get("type"), where, "type", MAX_KEY)
    if kind not in STANDARD_TYPES and not TYPE_PATTERN.match(kind):
        raise BadRequest(
            f"{where}.type must be lower-case letters, digits and _ : . -", field=f"{where}.type"
        )
    client_ts = get("ts")
    if type(client_ts) is not int:
        client_ts = _integer(client_ts, where, "ts")
        assert client_ts is not None
    ts = client_ts + offset_ms
    if clamp and ts > received_ms:
        ts = received_ms
    if max_age is not None and ts < received_ms - max_age:
        raise BadRequest(f"{where}.ts is more than {max_age // 86_400_000} days old", field=f"{where}.ts")
    visitor = _present_text(get("visitor_id"), where, "visitor_id", MAX_KEY)
    event: dict[str, Any] = {
        "id": event_id.lower(),
        "type": kind,
        "ts": ts,
        "client_ts": client_ts,
        "visitor_id": visitor,
    }
    customer = get("customer_id")
    if customer is not None:
        event["customer_id"] = _integer(customer, where, "customer_id")
    token = get("identity_token")
    if token is not None and token != "":
        event["identity_token"] = _present_text(token, where, "identity_token", MAX_IDENTITY_TOKEN)
    url = get("url")
    if url is not None and url != "":
        event["url"] = url = _present_text(url, where, "url", MAX_URL)
        if "utm_" in url:
            event.update((name, value) for name, value in _utm(url).items() if value is not None)
    referrer = get("referrer")
    if referrer is not None and referrer != "":
        event["referrer"] = _present_text(referrer, where, "referrer", MAX_URL)
    product = get("product_id")
    if product is not None and product != "":
        event["product_id"] = product if type(product) is int else _integer(product, where, "product_id")
    props = get("props")
    if props is not None and props != {}:
        event["props"] = _props(props, f"{where}.props", kind)
    return event


def parse_batch(
    body: Any, *, received_ms: int, max_events: int = MAX_EVENTS, max_age: int | None = MAX_AGE_MS
) -> tuple[str, list[dict[str, Any]]]:
    """The shop domain and the checked events of a batch body."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", field="body")
    shop = _text(body.get("shop"), "", "shop", 255, required=True)
    sent_at = _integer(body.get("sent_at", received_ms), "", "sent_at")
    assert sent_at is not None
    events = body.get("events")
    if not isinstance(events, list) or not events:
        raise BadRequest("events must be a non-empty list", field="events")
    if len(events) > max_events:
        raise BadRequest(f"a batch holds at most {max_events} events", field="events")
    offset = received_ms - sent_at
    checked = [
        normalize_event(raw, index, offset_ms=offset, received_ms=received_ms, max_age=max_age)
        for index, raw in enumerate(events)
    ]
    return str(shop), checked
