"""Reconciliation rebuilds a day from raw events: clean rollups pass, tampered ones are reported
as drift (and repaired), through the scheduled task."""

from __future__ import annotations

import time as clock
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from analytics.drift_models import RollupDrift
from analytics.importer import import_events
from analytics.models import DailyProductMetric, DailySessionMetric, DailyShopMetric
from analytics.reach_models import DailyProductReach, VisitorTimeline
from analytics.reconcile import reconcile_day
from analytics.rollup_facts import nonzero
from analytics.rollup_rebuild import rebuild_day_rollups, stored_day_rollups
from analytics.tasks import reconcile_rollups_task
from shopify_app.core.extensions import db
from tests.analytics.test_traffic_accuracy import AGENTS, traffic
from tests.conftest import SHARED
from tests.support.factories import make_shop

SAMPLE = SHARED / "data" / "rees46_2019-Oct_head.csv.gz"
SAMPLE_START = datetime(2019, 10, 1, tzinfo=UTC)


def test_drift_is_found_reported_and_repaired(app: Any) -> None:
    shop = make_shop()
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    shift = datetime.combine(yesterday, time(12), tzinfo=UTC) - SAMPLE_START
    import_events(Path(SAMPLE), shop.domain, "rees46", shift_ms=int(shift.total_seconds() * 1000))

    assert reconcile_day(shop, yesterday).clean, "the writer's rollups equal the raw events"

    day_row = db.session.get(DailyShopMetric, (shop.id, yesterday))
    true_sessions = day_row.sessions
    day_row.sessions += 3
    product = db.session.scalars(
        select(DailyProductMetric).where(
            DailyProductMetric.shop_id == shop.id, DailyProductMetric.purchases > 0
        )
    ).first()
    true_revenue = product.revenue
    product.revenue += 5
    db.session.commit()

    assert reconcile_rollups_task() == {"drifted": {shop.domain: 2}}
    drifts = db.session.scalars(select(RollupDrift).where(RollupDrift.shop_id == shop.id)).all()
    assert {(d.metric, d.rebuilt_value) for d in drifts} == {
        ("sessions", str(true_sessions)),
        (f"product:{product.product_id}:revenue", str(true_revenue)),
    }
    assert all(d.repaired and d.day == yesterday for d in drifts)
    db.session.expire_all()
    assert db.session.get(DailyShopMetric, (shop.id, yesterday)).sessions == true_sessions
    assert reconcile_day(shop, yesterday).clean


def test_the_writers_session_and_visitor_rollups_equal_a_rebuild_from_raw_events(app: Any) -> None:
    shop = make_shop(timezone="America/Noronha")
    import_events(Path(SAMPLE), shop.domain, "rees46")
    for day in (date(2019, 9, 30), date(2019, 10, 1)):
        rebuilt = nonzero(rebuild_day_rollups(shop, day))
        assert set(rebuilt) >= {
            "sessions",
            "devices",
            "referrers",
            "visitors",
            "product_viewers",
            "retention",
        }
        assert rebuilt == nonzero(stored_day_rollups(shop, day))
        assert reconcile_day(shop, day).clean


def test_drift_in_a_session_rollup_is_reported_and_repaired(app: Any) -> None:
    shop = make_shop(timezone="America/Noronha")
    import_events(Path(SAMPLE), shop.domain, "rees46")
    day = date(2019, 10, 1)
    row = db.session.get(DailySessionMetric, (shop.id, day))
    true_bounces = row.bounces
    row.bounces += 2
    db.session.commit()

    found = reconcile_day(shop, day, repair=True)

    assert [(d["metric"], d["rebuilt_value"]) for d in found.drifts] == [
        ("sessions::bounces", str(true_bounces))
    ]
    db.session.expire_all()
    assert db.session.get(DailySessionMetric, (shop.id, day)).bounces == true_bounces
    assert reconcile_day(shop, day).clean


def test_rollups_of_traffic_arriving_late_and_out_of_order_equal_a_rebuild(client: Any, shop: Any) -> None:
    now_ms = int(clock.time() * 1000)
    for _visitor, device, events in traffic(shop.domain, now_ms):
        # every other event first, the rest later: late events join and reshape stored sessions
        for part in (events[::2], events[1::2]):
            if part:
                body = {"shop": shop.domain, "sent_at": int(clock.time() * 1000), "events": part}
                response = client.post("/events/", json=body, headers={"User-Agent": AGENTS[device]})
                assert response.status_code == 202
    today = datetime.now(UTC).date()
    seen: set[str] = set()
    for day in (today - timedelta(days=n) for n in range(3)):
        rebuilt = nonzero(rebuild_day_rollups(shop, day))
        assert rebuilt == nonzero(stored_day_rollups(shop, day)), day
        seen |= set(rebuilt)
    assert seen >= {"sessions", "devices", "referrers", "campaigns", "pages", "visitors", "retention"}


def test_rollups_of_visits_sent_event_by_event_across_midnight_equal_a_rebuild(
    client: Any, shop: Any
) -> None:
    """A tracker sending each event as it happens: every session and visitor goes on over many
    batches, some across midnight (same pages before and after it), a few events arrive late."""
    midnight = int(datetime.combine(datetime.now(UTC).date(), time(0), tzinfo=UTC).timestamp() * 1000)
    kinds = ["page_view", "product_view", "add_to_cart", "page_view", "checkout_started", "purchase"]
    sent: list[dict[str, Any]] = []
    for number in range(12):
        for visit in range(3):  # the same visitor again one and two days earlier
            moment = midnight - visit * 86_400_000 - (30 - number) * 60_000
            for step in range(12):
                kind = kinds[(number + step) % len(kinds)]
                event: dict[str, Any] = {
                    "id": str(uuid.uuid4()),
                    "type": kind,
                    "ts": moment + step * 4 * 60_000,
                    "visitor_id": f"night-{number}",
                    "url": f"https://{shop.domain}/pages/{step % 3}",
                }
                if kind in ("product_view", "add_to_cart"):
                    event["product_id"] = 1 + (number + step) % 4
                if kind == "purchase":
                    event["props"] = {"value": 12.5, "currency": "USD"}
                sent.append(event)
    late = [event for index, event in enumerate(sent) if index % 17 == 5]
    on_time = sorted((e for e in sent if e not in late), key=lambda e: e["ts"])
    for event in on_time + late:
        body = {"shop": shop.domain, "sent_at": int(clock.time() * 1000), "events": [event]}
        response = client.post("/events/", json=body, headers={"User-Agent": AGENTS["desktop"]})
        assert response.status_code == 202
    today = datetime.now(UTC).date()
    for day in (today - timedelta(days=n) for n in range(4)):
        rebuilt = nonzero(rebuild_day_rollups(shop, day))
        assert rebuilt == nonzero(stored_day_rollups(shop, day)), day


def test_drift_in_the_visitor_timelines_is_reported_and_repaired(app: Any) -> None:
    """Custom funnels count from the visitor timelines: a lost or stray time there is drift too."""
    shop = make_shop()
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    shift = datetime.combine(yesterday, time(12), tzinfo=UTC) - SAMPLE_START
    import_events(Path(SAMPLE), shop.domain, "rees46", shift_ms=int(shift.total_seconds() * 1000))
    assert reconcile_day(shop, yesterday).clean

    row = next(
        row
        for row in db.session.scalars(
            select(VisitorTimeline).where(
                VisitorTimeline.shop_id == shop.id, VisitorTimeline.day == yesterday
            )
        )
        if len(row.moments) >= 8
    )
    kind, visitor_id, kept = row.type, row.visitor_id, len(row.moments) // 4
    row.moments = row.moments[4:]  # one time lost
    stray = VisitorTimeline(shop_id=shop.id, type="purchase", day=yesterday, visitor_id=visitor_id + 10**9,
                            moments=row.moments[:4])  # fmt: skip
    db.session.add(stray)
    db.session.commit()

    found = reconcile_day(shop, yesterday, repair=True)
    assert sorted((d["metric"], d["rollup_value"], d["rebuilt_value"]) for d in found.drifts) == sorted(
        [
            (f"timeline:{kind}:{visitor_id}", str(kept - 1), str(kept)),
            (f"timeline:purchase:{visitor_id + 10**9}", "1", "0"),
        ]
    )
    assert reconcile_day(shop, yesterday).clean, "repaired from the raw events"


def test_drift_in_the_product_reach_is_reported_and_repaired(app: Any) -> None:
    """Distinct products over a range come from the product reach rows: a miscount there is drift."""
    shop = make_shop()
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    shift = datetime.combine(yesterday, time(12), tzinfo=UTC) - SAMPLE_START
    import_events(Path(SAMPLE), shop.domain, "rees46", shift_ms=int(shift.total_seconds() * 1000))
    assert reconcile_day(shop, yesterday).clean

    row = db.session.scalars(
        select(DailyProductReach).where(
            DailyProductReach.shop_id == shop.id, DailyProductReach.day == yesterday
        )
    ).first()
    assert row is not None
    since, true_count = row.since, row.products
    row.products += 4
    db.session.commit()

    found = reconcile_day(shop, yesterday, repair=True)
    assert [(d["metric"], d["rollup_value"], d["rebuilt_value"]) for d in found.drifts] == [
        (f"product_reach:{since.isoformat()}", str(true_count + 4), str(true_count))
    ]
    assert reconcile_day(shop, yesterday).clean, "repaired"
