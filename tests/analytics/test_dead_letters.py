"""Dead letters: always writable, found by shop, forgotten with the shop or the customer."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from analytics.dead_letters import MAX_PAYLOAD_CHARS, Letter, forget_dead_letters, write
from analytics.models import DeadLetter
from shopify_app.core.extensions import db
from tests.support.factories import make_shop

pytestmark = pytest.mark.usefixtures("db")


def _batch(shop: Any, visitor: str, customer: int | None = None, url: str = "https://x/") -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": f"e-{visitor}",
        "type": "page_view",
        "ts": 1,
        "visitor_id": visitor,
        "url": url,
    }
    if customer is not None:
        event["customer_id"] = customer
    return {"shop_id": shop.id, "shop_domain": shop.domain, "received_at": 1, "events": [event]}


def _letters(shop: Any) -> list[DeadLetter]:
    return list(db.session.execute(select(DeadLetter).where(DeadLetter.shop_id == shop.id)).scalars())


def test_a_dead_letter_of_any_size_is_written_cut_with_a_marker_and_logged_without_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    shop = make_shop()
    huge = _batch(shop, "v-private", url="https://x/?" + "😀" * (MAX_PAYLOAD_CHARS + 5000))
    with caplog.at_level(logging.INFO):
        write([Letter(huge, "DataError 1406 Data too long for column", "1406", stream_id="cs:ingest/1-0")])
    [letter] = _letters(shop)
    assert letter.shop_domain == shop.domain
    assert letter.error_code == "1406"
    assert letter.payload.startswith('{"shop_id":')
    assert letter.payload.endswith("more characters]")
    assert len(letter.payload) < MAX_PAYLOAD_CHARS + 100
    assert "dead letter: stream entry cs:ingest/1-0" in caplog.text
    assert "v-private" not in caplog.text
    assert "😀" not in caplog.text
    write([Letter(huge, "again", "1406", stream_id="cs:ingest/1-0")])  # re-read after a crash
    assert len(_letters(shop)) == 1, "one dead letter per stream entry"


def test_forgetting_dead_letters_by_shop_by_visitor_and_by_customer() -> None:
    shop, other = make_shop(), make_shop()
    write(
        [
            Letter(_batch(shop, "v-a"), "E", "x"),
            Letter(_batch(shop, "v-b", customer=4242), "E", "x"),
            Letter(_batch(shop, "v-c", customer=42), "E", "x"),
            Letter(_batch(shop, 'v-"quoted"'), "E", "x"),
            Letter(_batch(other, "v-a", customer=4242), "E", "x"),
        ]
    )
    assert forget_dead_letters(shop.id, visitor_keys=["v-a"]) == 1
    assert forget_dead_letters(shop.id, customer_ids=[42]) == 1, "42 names one customer, not 4242"
    assert forget_dead_letters(shop.id, visitor_keys=['v-"quoted"']) == 1
    assert [letter.payload for letter in _letters(shop)] == [
        letter.payload for letter in _letters(shop) if '"v-b"' in letter.payload
    ]
    assert len(_letters(shop)) == 1
    assert forget_dead_letters(shop.id, visitor_keys=[], customer_ids=[4242]) == 1
    assert _letters(shop) == []
    assert len(_letters(other)) == 1, "another shop's letters stay"
    write([Letter(_batch(other, "v-z"), "E", "x")])
    assert forget_dead_letters(other.id) == 2, "the whole shop's"
    assert _letters(other) == []


def test_a_cut_payload_still_names_its_visitor_for_erasure() -> None:
    shop = make_shop()
    batch = _batch(shop, "v-cut", url="https://x/" + "a" * (MAX_PAYLOAD_CHARS * 2))
    write([Letter(batch, "E", "x")])
    assert forget_dead_letters(shop.id, visitor_keys=["v-cut"]) == 1
