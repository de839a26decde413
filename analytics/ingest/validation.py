"""The event wire format: checking a batch and turning it into what the writer stores.

A batch is `{"shop", "sent_at", "events": [...]}`; every problem is a BadRequest naming the field
(`events[3].ts`). Client clocks are corrected by the batch's own offset
(`ts_server = ts_client + (received_at - sent_at)`); a time still in the future is clamped to
the moment of receipt, one older than `MAX_AGE` is refused (history goes through
`clickstream import-events`, which passes `max_age=None`).

Everything is bounded before it goes further (README, "Event wire format"): event ids are UUIDs or
Shopify's web pixel ids (`sh-`, at most 64 characters), Shopify ids are ASCII
digits within the signed 64-bit range the columns hold, times are non-negative 64-bit integers,
money is a finite plain decimal within `MAX_AMOUNT`, `props` is at most `MAX_PROPS_DEPTH` deep and
`MAX_PROPS_BYTES` serialized, and visitor keys are printable ASCII.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from shopify_app.core.errors import BadRequest

MAX_EVENTS = 100
MAX_AGE_MS = 7 * 24 * 3600 * 1000
MAX_PROPS_BYTES = 8 * 1024
MAX_URL = 2048
MAX_KEY = 64
MAX_PROPS_DEPTH = 5  # props {} > items [] > item {} > two more levels for a theme's own props
CONTAINERS = (dict, list)
MAX_ID = 2**63 - 1  # Shopify ids go into signed BIGINT columns
MAX_TS = 2**63 - 1
# A purchase's value, an item's price and a line's price x quantity, in the shop's currency: a
# billion keeps a large order in VND or IDR, and keeps one event (100 lines) a hundredth of what
# the decimal(14,2) rollups hold. Many forged purchases can still add up: the writer's concern.
MAX_AMOUNT = Decimal(1_000_000_000)
AMOUNT_DECIMALS = 3  # the most any currency uses (KWD, BHD)
MAX_QUANTITY = 10_000
MAX_ITEMS = 100  # lines of one purchase
ID_PATTERN = re.compile(r"[0-9]{1,19}")
AMOUNT_PATTERN = re.compile(r"[0-9]{1,10}(\.[0-9]{1,20})?")
# Printable ASCII without spaces: what the tracker ("v-" and a UUID) and the web pixel (that id from
# its cookie, or Shopify's clientId, a UUID) send. Keys that differ only by case, accents or
# trailing spaces could otherwise be taken for one visitor by a case-insensitive collation.
VISITOR_PATTERN = re.compile(r"[!-~]{1,64}")
MAX_IDENTITY_TOKEN = 128  # analytics.identity_tokens: `<customer>.<expiry>.<signature>`
# An event id is a UUID (the tracker, imports) or one of Shopify's web pixel event ids, `sh-` and
# letters, digits and dashes (`sh-0259a238-2A20-436E-D1AC-731D262C99FD`, 39 characters), at most
# MAX_EVENT_ID characters: what `events.event_id` holds (migration 0019).
MAX_EVENT_ID = 64
EVENT_ID_PATTERN = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|sh-[0-9A-Za-z-]{1,61}"
)
TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_:.-]{0,63}$")
STANDARD_TYPES = frozenset(
    {
        "page_view",
        "product_view",
        "collection_view",
        "search",
        "add_to_cart",
        "remove_from_cart",
        "cart_view",
        "checkout_started",
        "checkout_contact",
        "checkout_address",
        "checkout_shipping",
        "checkout_payment",
        "purchase",
        "alert_displayed",
        "ui_extension_errored",
        "identify",
    }
)
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign")


def _field(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


# Field names are passed as (where, name) and joined only for an error: building them for every
# field of every event was a visible share of the collector's time.
def _integer(
    value: Any, where: str, name: str, *, minimum: int = 0, maximum: int = MAX_TS, what: str = "an integer"
) -> int:
    """A whole number sent as a JSON number or a string of ASCII digits, within [minimum, maximum]."""
    if type(value) is int:
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and ID_PATTERN.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise BadRequest(f"{_field(where, name)} must be {what}", field=_field(where, name))
    if not minimum <= number <= maximum:
        raise BadRequest(
            f"{_field(where, name)} must be {what} from {minimum} to {maximum}", field=_field(where, name)
        )
    return number


def shopify_id(value: Any, where: str, name: str) -> int:
    """A Shopify id: ASCII digits (or a JSON integer) from 1 to 2^63 - 1, else a 400 naming the field."""
    if type(value) is int and 0 < value <= MAX_ID:
        return value
    # isdigit() alone takes "²" and other scripts' digits; with isascii() it is 0-9 only
    if (
        type(value) is str
        and value.isascii()
        and value.isdigit()
        and len(value) <= 19
        and 0 < int(value) <= MAX_ID
    ):
        return int(value)
    return _integer(value, where, name, minimum=1, maximum=MAX_ID, what="a Shopify id (ASCII digits)")


def parse_shopify_id(text: str, field: str) -> int:
    """A Shopify id sent as text (a query parameter), else a 400 naming `field`."""
    if not ID_PATTERN.fullmatch(text):
        raise BadRequest(f"{field} must be a Shopify id (ASCII digits)", field=field)
    return shopify_id(int(text), "", field)


def visitor_key(value: Any, field: str) -> str:
    """A visitor key in its safe form (1 to 64 printable ASCII characters, no spaces), else a 400."""
    if type(value) is str and VISITOR_PATTERN.fullmatch(value):
        return value
    if value is None or value == "":
        raise BadRequest(f"{field} is required", field=field)
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string", field=field)
    raise BadRequest(f"{field} must be 1 to {MAX_KEY} printable ASCII characters without spaces", field=field)


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


def _depth_within(value: Any, limit: int) -> bool:
    """Whether `value` nests objects and lists at most `limit` deep (the props object is 1)."""
    level: list[Any] = [value]
    for _ in range(limit):
        level = [
            child
            for container in level
            for child in (container.values() if isinstance(container, dict) else container)
            if isinstance(child, CONTAINERS)
        ]
        if not level:
            return True
    return False


def _amount(value: Any, field: str) -> Decimal:
    """Money: a finite JSON number or plain decimal string, 0 to MAX_AMOUNT, at most 3 decimals."""
    if isinstance(value, str) and AMOUNT_PATTERN.fullmatch(value.strip()):
        amount = Decimal(value.strip())
    elif type(value) is int or (type(value) is float and math.isfinite(value)):
        # str() of a float is its shortest form: 19.99, not 19.989999999999998
        amount = Decimal(str(value))
    else:
        raise BadRequest(
            f'{field} must be a finite amount (a number or a decimal string such as "19.99")', field=field
        )
    if not 0 <= amount <= MAX_AMOUNT:
        raise BadRequest(f"{field} must be from 0 to {MAX_AMOUNT}", field=field)
    if amount.as_tuple().exponent < -AMOUNT_DECIMALS:  # type: ignore[operator]
        raise BadRequest(f"{field} has more than {AMOUNT_DECIMALS} decimals", field=field)
    return amount


def _finite(value: Any, field: str) -> None:
    """A `price` or `value` of any event, when numeric, must be finite (readers take it as money)."""
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return  # not a number at all: a custom event's own text
    if isinstance(number, float) and not math.isfinite(number):
        raise BadRequest(f"{field} must be a finite number", field=field)


def _purchase_items(items: Any, field: str) -> None:
    if not isinstance(items, list):
        raise BadRequest(f"{field} must be a list", field=field)
    if len(items) > MAX_ITEMS:
        raise BadRequest(f"{field} holds at most {MAX_ITEMS} items", field=field)
    for number, item in enumerate(items):
        where = f"{field}[{number}]"
        if not isinstance(item, dict):
            raise BadRequest(f"{where} must be an object", field=where)
        product = item.get("product_id")
        if product is not None and product != "":
            shopify_id(product, where, "product_id")
        quantity = item.get("quantity")
        if quantity is not None:
            quantity = _integer(quantity, where, "quantity", minimum=1, maximum=MAX_QUANTITY)
        price = item.get("price")
        if price not in (None, "") and _amount(price, f"{where}.price") * (quantity or 1) > MAX_AMOUNT:
            raise BadRequest(
                f"{where}.price times quantity is more than {MAX_AMOUNT}", field=f"{where}.price"
            )


def _props(value: Any, field: str, kind: str) -> dict[str, Any]:
    if value is None or value == {}:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{field} must be an object", field=field)
    # Checked before serializing: orjson refuses (with a TypeError) beyond 254 levels, MariaDB's
    # JSON column beyond 32.
    for child in value.values():  # the usual props are flat: one pass, no lists built
        if isinstance(child, CONTAINERS):
            if not _depth_within(value, MAX_PROPS_DEPTH):
                raise BadRequest(f"{field} is nested deeper than {MAX_PROPS_DEPTH} levels", field=field)
            break
    if len(orjson.dumps(value)) > MAX_PROPS_BYTES:
        raise BadRequest(f"{field} is larger than {MAX_PROPS_BYTES} bytes", field=field)
    if kind == "purchase":
        if value.get("value") not in (None, ""):
            _amount(value["value"], f"{field}.value")
        if value.get("items") is not None:
            _purchase_items(value["items"], f"{field}.items")
    else:
        if "price" in value:
            _finite(value["price"], f"{field}.price")
        if "value" in value:
            _finite(value["value"], f"{field}.value")
    if kind in ("add_to_cart", "remove_from_cart") and value.get("quantity") is not None:
        _integer(value["quantity"], field, "quantity", minimum=1, maximum=MAX_QUANTITY)
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
    event_id = _present_text(get("id"), where, "id", MAX_EVENT_ID)
    if not EVENT_ID_PATTERN.fullmatch(event_id):
        raise BadRequest(
            f"{where}.id must be a UUID or a Shopify event id (sh- and letters, digits and dashes)",
            field=f"{where}.id",
        )
    kind = _present_text(get("type"), where, "type", MAX_KEY)
    if kind not in STANDARD_TYPES and not TYPE_PATTERN.match(kind):
        raise BadRequest(
            f"{where}.type must be lower-case letters, digits and _ : . -", field=f"{where}.type"
        )
    client_ts = get("ts")
    if type(client_ts) is not int or not 0 <= client_ts <= MAX_TS:
        client_ts = _integer(client_ts, where, "ts")
    ts = client_ts + offset_ms
    if clamp and ts > received_ms:
        ts = received_ms
    if max_age is not None and ts < received_ms - max_age:
        raise BadRequest(f"{where}.ts is more than {max_age // 86_400_000} days old", field=f"{where}.ts")
    if not 0 <= ts <= MAX_TS:
        raise BadRequest(f"{where}.ts is out of range once corrected by sent_at", field=f"{where}.ts")
    visitor = get("visitor_id")
    if type(visitor) is not str or not VISITOR_PATTERN.fullmatch(visitor):
        visitor = visitor_key(visitor, f"{where}.visitor_id")
    event: dict[str, Any] = {
        "id": event_id.lower(),
        "type": kind,
        "ts": ts,
        "client_ts": client_ts,
        "visitor_id": visitor,
    }
    customer = get("customer_id")
    if customer is not None:
        event["customer_id"] = shopify_id(customer, where, "customer_id")
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
        event["product_id"] = shopify_id(product, where, "product_id")
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
    sent_at = body.get("sent_at", received_ms)
    if type(sent_at) is not int or not 0 <= sent_at <= MAX_TS:
        sent_at = _integer(sent_at, "", "sent_at")
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
