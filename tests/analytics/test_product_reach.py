"""Events stored out of order, in many small batches: the product report's counts of products with
activity still equal the distinct products of the daily rows, and every event is in its
visitor's timeline exactly once (the rollups the writer keeps for them, `analytics.reach_models`)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
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
