"""The product report ranks from monthly sums, yet every page equals the plain sum of the daily
rows over the period: periods cutting months, spanning three, inside one, by every sort, with ties."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from analytics.importer import import_events
from analytics.models import DailyProductMetric, MonthlyProductMetric
from analytics.reconcile import reconcile_day
from shopify_app.core.auth import mint_session_token
from shopify_app.core.extensions import db
from tests.support.factories import make_shop

FIRST_DAY = date(2025, 9, 10)
DAYS = 70  # 10 Sep - 18 Nov: three months
PERIODS = [
    (date(2025, 9, 25), date(2025, 10, 24)),  # 30 days across a month end
    (date(2025, 9, 12), date(2025, 11, 15)),  # cuts both ends, a whole month between
    (date(2025, 10, 1), date(2025, 10, 31)),  # one whole month
    (date(2025, 10, 3), date(2025, 10, 9)),  # inside one month
]
SORTS = ("views", "carts", "purchases", "revenue")


def import_synthetic_events(shop: Any, path: Path) -> None:
    """Store the events below for the shop through the writer."""
    synthetic_events(path)
    assert import_events(path, shop.domain, "jsonl").stored == 2650


def synthetic_events(path: Path) -> None:
    """Skewed products (a few popular ones, a long tail with equal counts) over 70 days."""
    pick = random.Random(7)
    lines = []
    for n in range(2500):
        day = FIRST_DAY + timedelta(days=pick.randrange(DAYS))
        moment = datetime(day.year, day.month, day.day, 12, pick.randrange(60), tzinfo=UTC)
        product = 1 + int(60 * pick.random() ** 3)
        kind = pick.choice(["product_view"] * 5 + ["add_to_cart"] * 2 + ["purchase"])
        event: dict[str, Any] = {
            "id": str(uuid.UUID(int=n + 1)),
            "type": kind,
            "ts": int(moment.timestamp() * 1000) + n,
            "visitor_id": f"v{pick.randrange(300)}",
            "product_id": product,
            "props": {},
        }
        if kind == "purchase":
            price = pick.choice([5, 10, 12.5])
            event["props"] = {
                "value": price,
                "items": [{"product_id": str(product), "quantity": 1, "price": price}],
            }
        lines.append(json.dumps(event))
    for product in range(100, 250):  # the tail: one view each on the same day, all tied
        lines.append(json.dumps({"id": str(uuid.UUID(int=10_000 + product)), "type": "product_view", "ts": 1759838400000,
                                 "visitor_id": "tail", "product_id": product, "props": {}}))  # fmt: skip
    path.write_text("\n".join(lines))


def plain_sum(shop_id: int, start: date, end: date, sort: str) -> list[tuple[int, int, int, int, Decimal]]:
    """Every product's totals summed from the daily rows, in report order."""
    daily = DailyProductMetric
    rows = db.session.execute(
        select(
            daily.product_id, func.sum(daily.views), func.sum(daily.carts), func.sum(daily.purchases),
            func.sum(daily.revenue),
        )
        .where(daily.shop_id == shop_id, daily.day.between(start, end))
        .group_by(daily.product_id)
    ).all()  # fmt: skip
    column = 1 + SORTS.index(sort)
    totals = [(int(r[0]), int(r[1]), int(r[2]), int(r[3]), Decimal(r[4])) for r in rows]
    return sorted(totals, key=lambda r: (-r[column], r[0]))


@pytest.mark.parametrize("sort", SORTS)
def test_every_page_of_the_ranking_equals_the_plain_sum_over_the_period(
    client: FlaskClient, tmp_path: Path, sort: str
) -> None:
    shop = make_shop()
    import_synthetic_events(shop, tmp_path / "events.jsonl")
    token = mint_session_token(shop.domain)
    for start, end in PERIODS:
        expected = plain_sum(shop.id, start, end, sort)
        for page, per_page in ((1, 10), (3, 7), (2, 40)):
            response = client.get(
                "/analytics/product_visits/",
                query_string={"start": start, "end": end, "sort": sort, "page": page, "per_page": per_page},
                headers={"Authorization": f"Bearer {token}"},
            )
            body = response.get_json()
            shown = expected[(page - 1) * per_page : page * per_page]
            where = f"{sort}, {start}..{end}, page {page}"
            assert body["total"] == len(expected), where
            days = (end - start).days + 1
            earlier = plain_sum(shop.id, start - timedelta(days=days), start - timedelta(days=1), sort)
            assert body["previous"]["total"] == len(earlier), where
            assert [row["product_id"] for row in body["products"]] == [r[0] for r in shown], where
            assert [(r["views"], r["carts"], r["purchases"]) for r in body["products"]] == [
                r[1:4] for r in shown
            ], where
            assert [r["revenue"] for r in body["products"]] == [float(r[4]) for r in shown], where


def test_repairing_a_day_rewrites_its_products_months_from_the_daily_rows(app: Any, tmp_path: Path) -> None:
    shop = make_shop()
    import_synthetic_events(shop, tmp_path / "events.jsonl")
    day, october = date(2025, 10, 7), date(2025, 10, 1)
    daily, month = DailyProductMetric, MonthlyProductMetric
    tampered = db.session.scalars(select(daily).where(daily.shop_id == shop.id, daily.day == day)).first()
    tampered.carts += 2
    db.session.get(month, (shop.id, october, tampered.product_id)).views += 40
    db.session.commit()

    assert not reconcile_day(shop, day, repair=True).clean
    db.session.expire_all()
    in_october = (daily.shop_id == shop.id, daily.day.between(october, date(2025, 10, 31)))
    sums = db.session.execute(
        select(daily.product_id, func.sum(daily.views), func.sum(daily.carts))
        .where(*in_october)
        .group_by(daily.product_id)
    ).all()
    months = db.session.scalars(select(month).where(month.shop_id == shop.id, month.month == october)).all()
    assert {m.product_id: (m.views, m.carts) for m in months} == {
        int(p): (int(v), int(c)) for p, v, c in sums
    }
