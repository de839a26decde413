"""Events stored out of order, in many small batches: the product report's counts of products with
activity still equal the distinct products of the daily rows, and every event is in its
visitor's timeline exactly once (the rollups the writer keeps for them, `analytics.reach_models`)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import distinct, func, select

from analytics import importer
from analytics.models import NEVER, DailyProductMetric, Event
from analytics.reach_models import DailyProductReach, VisitorTimeline, unpack
from shopify_app.core.auth import mint_session_token
from shopify_app.core.extensions import db
from tests.analytics.test_product_ranking import FIRST_DAY, synthetic_events
from tests.support.factories import make_shop


@pytest.fixture
def shuffled_shop(app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A shop whose synthetic events were stored in a shuffled order, 90 per transaction."""
    path = tmp_path / "events.jsonl"
    synthetic_events(path)
    lines = path.read_text().splitlines()
    random.Random(3).shuffle(lines)
    path.write_text("\n".join(lines))
    monkeypatch.setattr(importer, "CHUNK", 90)
    shop = make_shop()
    assert importer.import_events(path, shop.domain, "jsonl").stored == 2650
    return shop


def test_products_with_activity_count_each_product_once_whatever_order_events_came_in(
    client: FlaskClient, shuffled_shop: Any
) -> None:
    daily = DailyProductMetric
    token = mint_session_token(shuffled_shop.domain)
    for start, days in (
        (FIRST_DAY, 70),
        (date(2025, 9, 25), 30),
        (date(2025, 10, 3), 7),
        (date(2025, 11, 1), 1),
    ):
        end = start + timedelta(days=days - 1)
        distinct_products = db.session.scalar(
            select(func.count(distinct(daily.product_id))).where(
                daily.shop_id == shuffled_shop.id, daily.day.between(start, end)
            )
        )
        body = client.get(
            "/analytics/product_visits/",
            query_string={"start": start, "end": end},
            headers={"Authorization": f"Bearer {token}"},
        ).get_json()
        assert body["total"] == distinct_products, (start, end)
    # the rollup itself: each product day under the product's previous active day
    days: dict[int, list[date]] = {}
    for product_id, day in db.session.execute(
        select(daily.product_id, daily.day).where(daily.shop_id == shuffled_shop.id).order_by(daily.day)
    ):
        days.setdefault(int(product_id), []).append(day)
    expected = Counter(
        (day, since) for seen in days.values() for day, since in zip(seen, [NEVER, *seen[:-1]], strict=True)
    )
    reach = DailyProductReach
    stored = {
        (day, since): n
        for day, since, n in db.session.execute(
            select(reach.day, reach.since, reach.products).where(reach.shop_id == shuffled_shop.id)
        )
        if n
    }
    assert stored == dict(expected)


def test_every_event_is_in_its_visitors_timeline_once(app: Any, shuffled_shop: Any) -> None:
    events = Counter(
        (kind, visitor_id, when)
        for kind, visitor_id, when in db.session.execute(
            select(Event.type, Event.visitor_id, Event.occurred_at).where(Event.shop_id == shuffled_shop.id)
        )
    )
    timeline = VisitorTimeline
    stored: Counter[tuple[str, int, Any]] = Counter()
    for kind, day, visitor_id, moments in db.session.execute(
        select(timeline.type, timeline.day, timeline.visitor_id, timeline.moments).where(
            timeline.shop_id == shuffled_shop.id
        )
    ):
        assert len(moments) % 4 == 0
        stored.update((kind, visitor_id, when) for when in unpack(day, moments))
    assert stored == events


@pytest.mark.committed
def test_a_product_day_rolled_back_is_counted_when_the_batch_is_stored_again(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer remembers products' last active days only from committed batches."""
    from analytics.writer import store

    shop = make_shop()
    db.session.commit()
    now = int(datetime.now(UTC).timestamp() * 1000)
    event = {"id": "7f3c1a52-0000-4000-8000-000000000001", "type": "product_view", "ts": now, "client_ts": now,
             "visitor_id": "v-1", "product_id": 42}  # fmt: skip
    batch = {"shop_id": shop.id, "received_at": now, "events": [event]}
    failing = RuntimeError("the database went away after the product reach")
    with monkeypatch.context() as patch:
        patch.setattr(store, "add_product_months", lambda *_: (_ for _ in ()).throw(failing))
        with pytest.raises(RuntimeError):
            store.store_batches([batch])
    other = {**event, "id": "7f3c1a52-0000-4000-8000-000000000002", "product_id": 7}
    later = {**event, "id": "7f3c1a52-0000-4000-8000-000000000003", "ts": now + 1, "client_ts": now + 1}
    # another product's batch commits, then the first product's events come again that day
    for stored in ([other], [event, later]):
        store.store_batches([{**batch, "events": stored}])
    reach = DailyProductReach
    counts = db.session.execute(
        select(reach.since, reach.products).where(reach.shop_id == shop.id, reach.products != 0)
    ).all()
    assert counts == [(NEVER, 2)], "products 7 and 42 each counted once"
