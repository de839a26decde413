"""The collector's answers to what trackers (and anything else) send: a 4xx naming the field, never a lost batch.

Embedded mode (no Redis): an accepted batch is stored before the answer, so each test can read
what landed. A refused batch stores nothing, and the batches accepted before it stay stored.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from analytics.ingest.validation import MAX_AGE_MS, MAX_EVENTS
from analytics.ingest.views import MAX_BODY
from analytics.models import Event
from shopify_app.core.extensions import db
from tests.pipeline.test_counts import BROWSER

pytestmark = pytest.mark.committed


def _event(**fields: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": "page_view", "ts": int(time.time() * 1000), "visitor_id": "v-1",
            "url": "https://shop.example/pages/about", **fields}  # fmt: skip


def _send(client: FlaskClient, shop: Any, events: list[Any], **body: Any) -> Any:
    payload = {"shop": shop.domain, "sent_at": int(time.time() * 1000), "events": events, **body}
    return client.post(
        "/events/",
        data=json.dumps(payload),
        headers={"Content-Type": "text/plain", "User-Agent": BROWSER, "Origin": f"https://{shop.domain}"},
    )


def _ms(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000


def _stored(shop: Any) -> list[Event]:
    shop_id = shop.id  # read before the session goes: the collector's commit expired the row
    db.session.remove()
    return list(db.session.execute(select(Event).where(Event.shop_id == shop_id)).scalars())


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"id": "not-a-uuid"}, "events[1].id"),
        ({"id": None}, "events[1].id"),
        ({"id": "sh-"}, "events[1].id"),
        ({"id": "sh-" + "a" * 62}, "events[1].id"),
        ({"id": "sh-0259a238 2A20"}, "events[1].id"),
        ({"id": "sh-0259a238-2A20-436E-D1AC-731D262C99FÉ"}, "events[1].id"),
        ({"type": "Page View"}, "events[1].type"),
        ({"ts": "yesterday"}, "events[1].ts"),
        ({"ts": True}, "events[1].ts"),
        ({"visitor_id": ""}, "events[1].visitor_id"),
        ({"visitor_id": "v" * 65}, "events[1].visitor_id"),
        ({"url": 42}, "events[1].url"),
        ({"referrer": "x" * 2049}, "events[1].referrer"),
        ({"product_id": "shoe"}, "events[1].product_id"),
        ({"customer_id": 1.5}, "events[1].customer_id"),
        ({"props": [1, 2]}, "events[1].props"),
        ({"type": "purchase", "props": {"value": "ten"}}, "events[1].props.value"),
    ],
)
def test_a_bad_field_is_named_and_nothing_of_the_batch_is_stored(
    client: FlaskClient, shop: Any, event: dict[str, Any], field: str
) -> None:
    accepted = _send(client, shop, [_event()])
    assert accepted.status_code == 202
    response = _send(client, shop, [_event(), _event(**event)])
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["field"] == field
    assert field in response.get_json()["message"]
    assert len(_stored(shop)) == 1, "the earlier batch stays; none of the refused one lands"


def test_shopify_pixel_event_ids_are_stored_once(client: FlaskClient, shop: Any) -> None:
    shopify_id = "sh-0259a238-2A20-436E-D1AC-731D262C99FD"  # 39 characters, as Shopify sends them
    longest = "sh-" + "0" * 61
    first = _send(client, shop, [_event(id=shopify_id), _event(id=longest)])
    assert first.status_code == 202, first.get_data(as_text=True)
    assert _send(client, shop, [_event(id=shopify_id)]).status_code == 202  # a retried batch
    assert sorted(event.event_id for event in _stored(shop)) == sorted([shopify_id.lower(), longest])


def test_batch_limits_body_size_and_unknown_shops(client: FlaskClient, shop: Any) -> None:
    too_many = _send(client, shop, [_event() for _ in range(MAX_EVENTS + 1)])
    assert (too_many.status_code, too_many.get_json()["field"]) == (400, "events")
    empty = _send(client, shop, [])
    assert (empty.status_code, empty.get_json()["field"]) == (400, "events")
    huge = _send(client, shop, [_event(props={"note": "x" * MAX_BODY})])
    assert (huge.status_code, huge.get_json()["field"]) == (413, "body")
    not_json = client.post("/events/", data="{not json", headers={"User-Agent": BROWSER})
    assert (not_json.status_code, not_json.get_json()["field"]) == (400, "body")
    unknown = client.post(
        "/events/",
        data=json.dumps({"shop": "nobody-here.myshopify.com", "events": [_event()]}),
        headers={"User-Agent": BROWSER},
    )
    assert (unknown.status_code, unknown.get_json()["field"]) in ((403, "shop"), (404, "shop"))
    assert _stored(shop) == []


def test_times_are_corrected_by_the_clock_offset_clamped_and_very_old_ones_refused(
    client: FlaskClient, shop: Any
) -> None:
    now = int(time.time() * 1000)
    # A browser clock two hours fast: its times are moved back by the batch's own offset.
    fast = _event(ts=now + 7_200_000 - 60_000)
    answer = _send(client, shop, [fast], sent_at=now + 7_200_000)
    assert answer.status_code == 202
    # A time still in the future after the correction is clamped to the moment of receipt.
    future = _event(ts=now + 3_600_000)
    assert _send(client, shop, [future], sent_at=now).status_code == 202
    stored = {event.event_id: event for event in _stored(shop)}
    received = answer.get_json()["received_at"]
    corrected = _ms(stored[fast["id"]].occurred_at)
    assert abs(corrected - (received - 60_000)) < 5_000
    assert _ms(stored[future["id"]].occurred_at) <= time.time() * 1000 + 1_000
    old = _send(client, shop, [_event(ts=now - MAX_AGE_MS - 86_400_000)], sent_at=now)
    assert (old.status_code, old.get_json()["field"]) == (400, "events[0].ts")


def test_bots_are_answered_but_not_counted_and_foreign_origins_refused(
    client: FlaskClient, shop: Any
) -> None:
    body = json.dumps({"shop": shop.domain, "events": [_event()]})
    bot = client.post(
        "/events/", data=body, headers={"User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"}
    )
    assert (bot.status_code, bot.get_json()["ignored"]) == (202, "bot")
    foreign = client.post(
        "/events/", data=body, headers={"User-Agent": BROWSER, "Origin": "https://evil.example"}
    )
    assert (foreign.status_code, foreign.get_json()["field"]) == (403, "shop")
    assert "Access-Control-Allow-Origin" not in foreign.headers
    own = _send(client, shop, [_event()])
    assert own.headers["Access-Control-Allow-Origin"] == f"https://{shop.domain}"
    assert len(_stored(shop)) == 1


def test_optional_fields_and_campaigns_reach_the_stored_event(client: FlaskClient, shop: Any) -> None:
    event = _event(
        type="product_view",
        product_id="1003461",
        customer_id=77,
        referrer="https://www.google.com/",
        url="https://shop.example/products/kettle?utm_source=news&utm_campaign=winter",
        id=str(uuid.uuid4()).upper(),
    )
    assert _send(client, shop, [event]).status_code == 202
    (stored,) = _stored(shop)
    assert stored.event_id == event["id"].lower()
    assert (stored.product_id, stored.referrer) == (1003461, "https://www.google.com/")
    assert (stored.utm_source, stored.utm_campaign, stored.utm_medium) == ("news", "winter", None)


def test_text_with_quotes_backslashes_and_control_characters_is_stored_as_sent(
    client: FlaskClient, shop: Any
) -> None:
    awkward = "it's a \"kettle\" \\ 100% \n\r\x1a\x00 ünïcode 🫖 '); DROP TABLE events; --"
    event = _event(
        url=f"https://shop.example/search?q={awkward}",
        referrer=awkward,
        props={"query": awkward, "nested": {"quote": "'"}},
    )
    assert _send(client, shop, [event]).status_code == 202
    (stored,) = _stored(shop)
    assert (stored.url, stored.referrer) == (event["url"], awkward)
    assert stored.props == {"query": awkward, "nested": {"quote": "'"}}
