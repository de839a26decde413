"""Orders are the truth for money: signed order and refund webhooks, through the real routes, make
the sales the merchant reads in `/analytics/sales/`, by Shopify's definitions."""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from analytics.models import DailySessionMetric
from shopify_app.core.auth import mint_session_token
from tests.support.factories import make_session, make_shop, make_visitor
from tests.webhooks.shopify_orders import REFUND_FIXTURE, order, refund

pytestmark = pytest.mark.committed

PLACED = "2026-11-20T10:00:00Z"


def sales(client: Any, shop: Any, start: str, end: str | None = None, path: str = "sales") -> dict[str, Any]:
    """What the merchant's API answers for the days `start`..`end`."""
    response = client.get(
        f"/analytics/{path}/",
        query_string={"start": start, "end": end or start},
        headers={"Authorization": f"Bearer {mint_session_token(shop.domain)}"},
    )
    assert response.status_code == 200, response.get_json()
    answer: dict[str, Any] = response.get_json()
    return answer


def test_an_order_makes_total_sales_equal_its_total_in_the_shops_currency(
    deliver: Any, client: Any, shop: Any
) -> None:
    placed = order(
        8101, PLACED, lines=[("89.99", 2), ("24.99", 1)], discount="20.00", shipping="10.00", tax="8.40"
    )
    assert deliver("orders/create", shop.domain, placed).status_code == 200
    day = sales(client, shop, "2026-11-20")
    assert day["total_sales"] == float(placed["total_price_set"]["shop_money"]["amount"]) == 203.37
    assert (day["orders"], day["gross_sales"], day["discounts"], day["returns"]) == (1, 204.97, 20.0, 0.0)
    assert (day["net_sales"], day["shipping"], day["taxes"]) == (184.97, 10.0, 8.4)
    assert day["average_order_value"] == 184.97  # (gross - discounts) ÷ orders
    assert day["currency"] == "USD"
    engagement = sales(client, shop, "2026-11-20", path="engagement")
    assert engagement["revenue"] == 203.37  # revenue is the orders' total sales


def test_a_cancellation_takes_the_sale_back_on_the_day_it_was_cancelled(
    deliver: Any, client: Any, shop: Any
) -> None:
    placed = order(8102, PLACED, lines=[("100.00", 1)], shipping="5.00", tax="7.00")
    deliver("orders/create", shop.domain, placed)
    cancelled = order(8102, PLACED, lines=[("100.00", 1)], shipping="5.00", tax="7.00",
                      cancelled_at="2026-11-22T09:00:00Z")  # fmt: skip
    assert deliver("orders/cancelled", shop.domain, cancelled).status_code == 200
    assert sales(client, shop, "2026-11-20")["total_sales"] == 112.0  # the sale stays on its day
    on_cancel_day = sales(client, shop, "2026-11-22")
    assert (on_cancel_day["returns"], on_cancel_day["total_sales"], on_cancel_day["orders"]) == (
        100.0,
        -112.0,
        0,
    )
    whole = sales(client, shop, "2026-11-20", "2026-11-22")
    assert (whole["total_sales"], whole["net_sales"], whole["orders"]) == (0.0, 0.0, 1)
    assert sales(client, shop, "2026-11-20", "2026-11-22", path="engagement")["revenue"] == 0.0


def test_a_refund_lowers_net_sales_on_the_day_of_the_refund_once(
    deliver: Any, client: Any, shop: Any
) -> None:
    fixture = json.loads(REFUND_FIXTURE.read_text())["payload"]
    # Shopify's example order (its 20.00 discount and 10.00 shipping), refunded by the example refund
    placed = order(fixture["order_id"], PLACED, discount="20.00", shipping="10.00")
    deliver("orders/create", shop.domain, placed)
    before = sales(client, shop, "2026-11-20")
    assert (before["total_sales"], before["net_sales"]) == (404.95, 394.95)
    assert deliver("refunds/create", shop.domain, fixture).status_code == 200
    deliver("refunds/create", shop.domain, fixture)  # a redelivery under a new webhook id
    # Shopify then sends orders/updated listing the refund; it is the same refund
    deliver(
        "orders/updated", shop.domain, {**placed, "updated_at": "2026-11-23T17:00:00Z", "refunds": [fixture]}
    )
    assert sales(client, shop, "2026-11-20")["net_sales"] == 394.95  # the order's day is unchanged
    refund_day = sales(client, shop, "2026-11-23")
    assert (refund_day["returns"], refund_day["net_sales"], refund_day["total_sales"]) == (
        119.99,
        -119.99,
        -119.99,
    )
    assert sales(client, shop, "2026-11-20", "2026-11-30")["net_sales"] == 274.96


def test_an_order_no_session_saw_counts_as_unattributed_with_its_channel(
    deliver: Any, client: Any, shop: Any, db: Any
) -> None:
    visitor = make_visitor(shop, "visitor-seen")
    make_session(shop, visitor, started_at=datetime(2026, 11, 20, 9, 50))
    db.session.add(DailySessionMetric(shop_id=shop.id, day=date(2026, 11, 20), sessions=4))
    db.session.commit()
    deliver("orders/create", shop.domain, order(8103, PLACED, lines=[("50.00", 1)], visitor="visitor-seen"))
    deliver("orders/create", shop.domain, order(8104, PLACED, lines=[("30.00", 1)], source_name="pos"))
    deliver("orders/create", shop.domain, order(8105, PLACED, lines=[("20.00", 1)]))  # tracker blocked
    day = sales(client, shop, "2026-11-20")
    assert (day["orders"], day["total_sales"]) == (3, 100.0)  # every order counts in the totals
    assert day["unattributed"] == {
        "orders": 2,
        "total_sales": 50.0,
        "channels": [
            {"channel": "pos", "orders": 1, "total_sales": 30.0},
            {"channel": "web", "orders": 1, "total_sales": 20.0},
        ],
    }
    assert (day["purchasing_sessions"], day["sessions"], day["conversion_rate"]) == (1, 4, 0.25)
    other = make_shop()
    db.session.commit()
    assert (
        sales(client, other, "2026-11-20")["orders"],
        sales(client, other, "2026-11-20")["total_sales"],
    ) == (0, 0.0)


def test_orders_and_sales_equal_the_sum_of_the_webhooks_with_cancellations_and_refunds(
    deliver: Any, client: Any, shop: Any
) -> None:
    """Sixty orders over ten days, some refunded (in parts, with tax and shipping), some cancelled,
    some test orders, every webhook delivered in shuffled order and some twice: each day's orders
    and total sales are what Shopify's definitions make of them, computed here independently."""
    rng = random.Random(20)
    first = date(2026, 11, 10)
    expected_orders: dict[date, int] = defaultdict(int)
    expected_total: dict[date, Decimal] = defaultdict(Decimal)
    deliveries: list[tuple[str, dict[str, Any]]] = []
    for number in range(1, 61):
        day = first + timedelta(days=rng.randrange(10))
        placed_at = f"{day.isoformat()}T{rng.randrange(23):02d}:{rng.randrange(60):02d}:00Z"
        lines = [
            (f"{rng.randrange(500, 20000) / 100:.2f}", rng.randrange(1, 4))
            for _ in range(rng.randrange(1, 4))
        ]
        shape = {"lines": lines, "discount": f"{rng.randrange(0, 500) / 100:.2f}",
                 "shipping": f"{rng.choice([0, 500, 995])/100:.2f}", "tax": f"{rng.randrange(0, 900) / 100:.2f}"}  # fmt: skip
        test = rng.random() < 0.1
        placed = order(5000 + number, placed_at, test=test, **shape)  # type: ignore[arg-type]
        deliveries.append(("orders/create", placed))
        total = Decimal(placed["total_price_set"]["shop_money"]["amount"])
        if not test:
            expected_orders[day] += 1
            expected_total[day] += total
        fate = rng.random()
        returned = Decimal("0")
        if fate < 0.3:  # one or two refunds, a few days later
            for part in range(rng.randrange(1, 3)):
                when = day + timedelta(days=rng.randrange(0, 4))
                goods = (total / 4).quantize(Decimal("0.01"))
                tax, ship = Decimal("1.00"), (Decimal("2.50") if part == 0 else None)
                payload = refund(90000 + number * 10 + part, 5000 + number, f"{when.isoformat()}T23:45:00Z",
                                 returned=str(goods), tax=str(tax), shipping=None if ship is None else str(ship))  # fmt: skip
                deliveries.append(("refunds/create", payload))
                amount = goods + tax + (ship or Decimal("0"))
                returned += amount
                if not test:
                    expected_total[when] -= amount
        elif fate < 0.5:  # cancelled later: what is left returns on the cancellation's day
            when = day + timedelta(days=rng.randrange(0, 3))
            cancelled = order(5000 + number, placed_at, test=test, cancelled_at=f"{when.isoformat()}T23:30:00Z", **shape)  # type: ignore[arg-type]  # fmt: skip
            deliveries.append(("orders/cancelled", cancelled))
            if not test:
                expected_total[when] -= total
    shuffled = deliveries[:]
    rng.shuffle(shuffled)
    # an order's own webhook comes before its refunds (Shopify creates the order first), but
    # everything else arrives in any order, and some deliveries twice
    shuffled.sort(key=lambda item: item[0] == "refunds/create")
    for topic, payload in shuffled + rng.sample(deliveries, 15):
        assert deliver(topic, shop.domain, payload, webhook_id=str(uuid.uuid4())).status_code == 200
    for offset in range(15):
        day = first + timedelta(days=offset)
        answer = sales(client, shop, day.isoformat())
        assert answer["orders"] == expected_orders.get(day, 0), day
        assert Decimal(str(answer["total_sales"])) == expected_total.get(day, Decimal("0")), day
    whole = sales(client, shop, first.isoformat(), (first + timedelta(days=14)).isoformat())
    assert whole["orders"] == sum(expected_orders.values())
    assert Decimal(str(whole["total_sales"])) == sum(expected_total.values(), Decimal("0"))
