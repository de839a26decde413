"""Reconciliation with Shopify: the daily task reads the day's orders from the stand-in's GraphQL
Admin API (paginated, throttled) and restores the order whose webhook was dropped."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from analytics.reports.period import shop_today
from analytics.tasks import reconcile_orders_task
from shopify_app.core.auth import mint_session_token
from shopify_app.core.extensions import db as database
from shopify_app.standin import ShopifyStandin
from shopify_app.standin.orders import CostBucket
from tests.platform.conftest import install
from tests.webhooks.shopify_orders import order, refund

pytestmark = pytest.mark.committed  # reconciliation commits each day it checks


def _deliver(client: Any, standin: ShopifyStandin, topic: str, domain: str, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    response = client.post(
        f"/webhooks/{topic}", data=body, headers=standin.webhook_headers(topic, domain, body)
    )
    assert response.status_code == 200


def _api(client: Any, domain: str, path: str, day: str) -> dict[str, Any]:
    # the test's requests share one app context (and database session); end its transaction as a
    # new request would, so MariaDB's repeatable read shows what the task committed meanwhile
    database.session.rollback()
    response = client.get(
        f"/analytics/{path}/",
        query_string={"start": day, "end": day},
        headers={"Authorization": f"Bearer {mint_session_token(domain)}"},
    )
    assert response.status_code == 200, response.get_json()
    answer: dict[str, Any] = response.get_json()
    return answer


def test_reconciliation_restores_an_order_whose_webhook_was_dropped(
    client: Any, standin: ShopifyStandin
) -> None:
    shop = install("reconcile.myshopify.com")  # the stand-in's shop lives in Europe/Berlin
    day = shop_today(shop) - timedelta(days=1)
    zone = ZoneInfo(shop.timezone)

    def at(hour: int) -> str:
        local = datetime.combine(day, time(hour), tzinfo=zone)
        return local.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")

    orders = [
        order(7700 + n, at(8 + n), lines=[(f"{10 * (n + 1)}.00", 1)], shipping="4.00") for n in range(7)
    ]
    late_refund = refund(7799, 7701, at(20), returned="20.00", shipping="4.00")
    for payload in orders:
        standin.add_order(shop.domain, payload)
    # Shopify also refunded order 7701 that evening; that order's orders/updated was lost too
    standin.add_order(shop.domain, {**orders[1], "updated_at": at(20), "refunds": [late_refund]})
    dropped = orders[3]
    for payload in orders:
        if payload is not dropped:
            _deliver(client, standin, "orders/create", shop.domain, payload)
    before = _api(client, shop.domain, "sales", day.isoformat())
    assert (before["orders"], before["total_sales"]) == (6, 6 * 4.0 + 10 + 20 + 30 + 50 + 60 + 70)

    # pages of 5 orders cost 392 points here; a bucket of 400 refilling fast makes the second page
    # wait for points once, as Shopify's THROTTLED answer asks
    standin.orders_bucket = CostBucket(maximum=400, restore_rate=4000, available=400)
    assert reconcile_orders_task.delay().get() == {"restored": {shop.domain: 1}, "failed": []}
    assert standin.orders_throttled >= 1

    after = _api(client, shop.domain, "sales", day.isoformat())
    all_sales = 7 * 4.0 + sum(10 * (n + 1) for n in range(7))
    assert (after["orders"], after["total_sales"]) == (7, all_sales - 24.0)  # the refund, on its day
    assert after["returns"] == 20.0
    drift = _api(client, shop.domain, "reconciliation", day.isoformat())["days"]
    assert [(d["orders"], d["total_sales"], d["restored_orders"], d["drift"]) for d in drift] == [
        ({"ours": 6, "shopify": 7}, {"ours": all_sales - 44.0, "shopify": all_sales}, 1, True)
    ]

    database.session.rollback()
    page = client.get(
        "/admin/status", query_string={"id_token": mint_session_token(shop.domain), "shop": shop.domain}
    )
    html = page.get_data(as_text=True)
    row = html.split(f'data-day="{day.isoformat()}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-drift="true"' in row
    assert "6 / 7" in row
    assert f"{all_sales - 44.0:.2f} / {all_sales:.2f}" in row

    reconcile_orders_task.delay().get()  # the next run finds nothing to restore
    again = _api(client, shop.domain, "reconciliation", day.isoformat())["days"]
    assert [(d["orders"], d["restored_orders"], d["drift"]) for d in again] == [
        ({"ours": 7, "shopify": 7}, 0, False)
    ]
