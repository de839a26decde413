"""Reconciliation rebuilds a day from raw events: clean rollups pass, tampered ones are reported
as drift (and repaired), through the scheduled task."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from analytics.drift_models import RollupDrift
from analytics.importer import import_events
from analytics.models import DailyProductMetric, DailyShopMetric
from analytics.reconcile import reconcile_day
from analytics.tasks import reconcile_rollups_task
from shopify_app.core.extensions import db
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
