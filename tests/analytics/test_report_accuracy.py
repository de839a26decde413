"""After importing the REES46 sample through the writer, every analytics route equals the
documented definitions computed independently from the CSV (tests/analytics/independent.py).

The shop's clock is America/Noronha (UTC-2), so the sample (00:00-02:50 UTC on 1 Oct) spans two
local days, 30 Sep and 1 Oct: days, series and the previous-period comparison all get exercised.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from analytics.demo_orders import record_demo_orders
from analytics.importer import import_events
from shopify_app.core.auth import mint_session_token
from tests.analytics.independent import Sample, in_order, ratio
from tests.conftest import SHARED
from tests.support.factories import make_shop

SAMPLE = SHARED / "data" / "rees46_2019-Oct_head.csv.gz"
ZONE = "America/Noronha"
SEP30, OCT1 = date(2019, 9, 30), date(2019, 10, 1)
STEPS = ["product_view", "add_to_cart", "checkout_started", "purchase"]


@pytest.fixture(scope="module")
def sample() -> Sample:
    return Sample(Path(SAMPLE), ZONE)


def get(client: FlaskClient, token: str, path: str, **args: Any) -> dict[str, Any]:
    response = client.get(path, query_string=args, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_every_report_equals_the_definitions_on_the_imported_sample(
    client: FlaskClient, sample: Sample
) -> None:
    shop = make_shop(timezone=ZONE)
    result = import_events(Path(SAMPLE), shop.domain, "rees46")
    assert result.stored == len(sample.rows)
    token = mint_session_token(shop.domain)
    both = {"start": SEP30.isoformat(), "end": OCT1.isoformat()}
    oct1 = {"start": OCT1.isoformat(), "end": OCT1.isoformat()}

    check_session_count(get(client, token, "/analytics/session_count/", interval="day", **both), sample)
    check_session_count_comparison(get(client, token, "/analytics/session_count/", **oct1), sample)
    check_user_count(get(client, token, "/analytics/user_count/", **both), sample, SEP30, OCT1)
    check_user_count(get(client, token, "/analytics/user_count/", **oct1), sample, OCT1, OCT1)
    check_conversion(get(client, token, "/analytics/visit_conversion/", **both), sample, SEP30, OCT1)
    check_conversion(get(client, token, "/analytics/visit_conversion/", **oct1), sample, OCT1, OCT1)
    # money is read from orders: the order Shopify would have sent for each purchase of the sample
    record_demo_orders(shop)
    check_engagement(get(client, token, "/analytics/engagement/", **both), sample)
    check_sales(get(client, token, "/analytics/sales/", **both), sample)
    check_devices(get(client, token, "/analytics/devices/", **both), sample)
    check_products(client, token, both, sample)
    check_funnel(
        get(
            client,
            token,
            "/analytics/funnel/",
            steps="product_view,add_to_cart,purchase",
            window_hours=1,
            **oct1,
        ),
        sample,
    )
    check_retention(get(client, token, "/analytics/retention/", **both), sample)
    sources = get(client, token, "/analytics/referrers/", **both)
    assert sources["referrers"] == [{"referrer": "direct", "sessions": len(sample.visits)}]
    assert sources["utm"] == []
    empty = get(client, token, "/analytics/top_pages/", **both)
    assert empty["pages"] == [], "the sample has product views only, no page_view events"


def check_session_count(body: dict[str, Any], sample: Sample) -> None:
    per_day = {day: len(sample.visits_in(day, day)) for day in (SEP30, OCT1)}
    assert per_day[SEP30] > 0
    assert per_day[OCT1] > 0
    assert body["sessions"] == sum(per_day.values()) == len(sample.visits)
    assert body["series"] == [{"period": d.isoformat(), "sessions": n} for d, n in per_day.items()]


def check_session_count_comparison(body: dict[str, Any], sample: Sample) -> None:
    assert body["sessions"] == len(sample.visits_in(OCT1, OCT1))
    assert body["previous"]["start"] == body["previous"]["end"] == SEP30.isoformat()
    assert body["previous"]["sessions"] == len(sample.visits_in(SEP30, SEP30))
    before = body["previous"]["sessions"]
    assert body["change"]["sessions"] == round((body["sessions"] - before) / before, 4)


def check_user_count(body: dict[str, Any], sample: Sample, start: date, end: date) -> None:
    visits = sample.visits_in(start, end)
    visitors = {visit.visitor for visit in visits}
    new = {visit.visitor for visit in visits if visit.first}
    assert body["visitors"] == len(visitors)
    assert body["new_visitors"] == len(new)
    assert body["returning_visitors"] == len(visitors - new)
    assert body["identified_users"] == 0, "nobody logs in in the sample"


def check_conversion(body: dict[str, Any], sample: Sample, start: date, end: date) -> None:
    visits = sample.visits_in(start, end)
    counts = {kind: sum(visit.has(kind) for visit in visits) for kind in STEPS}
    assert counts["purchase"] > 0
    assert body["visits"] == len(visits)
    assert body["product_views"] == counts["product_view"]
    assert body["carts"] == counts["add_to_cart"]
    assert body["checkouts"] == counts["checkout_started"] == 0
    assert body["purchases"] == counts["purchase"]
    assert body["cart_rate"] == ratio(counts["add_to_cart"], len(visits))
    assert body["purchase_rate"] == ratio(counts["purchase"], len(visits))
    reached = [in_order(visit.events, STEPS) for visit in visits]
    expected = [len(visits), *(sum(n > i for n in reached) for i in range(len(STEPS)))]
    assert [step["sessions"] for step in body["funnel"]] == expected


def check_engagement(body: dict[str, Any], sample: Sample) -> None:
    visits = sample.visits
    bounces = sum(len(visit.events) == 1 for visit in visits)  # one product view and nothing else
    seconds = sum((visit.events[-1].when - visit.start).total_seconds() for visit in visits)
    revenue = sum(event.price for visit in visits for event in visit.events if event.kind == "purchase")
    assert body["sessions"] == len(visits)
    assert body["bounce_rate"] == ratio(bounces, len(visits))
    assert body["average_session_seconds"] == pytest.approx(round(seconds / len(visits), 1), abs=0.05)
    assert body["revenue"] == pytest.approx(round(revenue, 2), abs=0.005)
    assert body["revenue_per_session"] == pytest.approx(round(revenue / len(visits), 2), abs=0.005)


def check_sales(body: dict[str, Any], sample: Sample) -> None:
    purchases = [event for visit in sample.visits for event in visit.events if event.kind == "purchase"]
    revenue = round(sum(event.price for event in purchases), 2)
    assert body["orders"] == len(purchases)
    assert body["total_sales"] == pytest.approx(revenue, abs=0.005)
    assert body["net_sales"] == body["gross_sales"] == body["total_sales"]
    assert body["average_order_value"] == pytest.approx(round(revenue / len(purchases), 2), abs=0.005)
    assert body["purchasing_sessions"] == sum(visit.has("purchase") for visit in sample.visits)
    assert body["unattributed"]["orders"] == 0


def check_devices(body: dict[str, Any], sample: Sample) -> None:
    buyers = sum(visit.has("purchase") for visit in sample.visits)
    assert body["devices"] == [
        {
            "device": "unknown",
            "sessions": len(sample.visits),
            "purchases": buyers,
            "conversion_rate": ratio(buyers, len(sample.visits)),
            "revenue": pytest.approx(
                round(sum(r.price for r in sample.rows if r.kind == "purchase"), 2), abs=0.005
            ),
        }
    ]


def independent_products(sample: Sample) -> dict[int, dict[str, Any]]:
    products: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"views": 0, "carts": 0, "purchases": 0, "revenue": 0.0, "viewers": set()}
    )
    for row in sample.rows:
        line = products[row.product]
        if row.kind == "product_view":
            line["views"] += 1
            line["viewers"].add(row.visitor)
        elif row.kind == "add_to_cart":
            line["carts"] += 1
        else:
            line["purchases"] += 1
            line["revenue"] += row.price
    return products


def check_products(client: FlaskClient, token: str, period: dict[str, str], sample: Sample) -> None:
    expected = independent_products(sample)
    by_views = sorted(expected, key=lambda p: (-expected[p]["views"], p))[:50]
    body = get(client, token, "/analytics/product_visits/", per_page=50, **period)
    assert body["total"] == len(expected)
    assert [row["product_id"] for row in body["products"]] == by_views
    by_revenue = sorted(expected, key=lambda p: (-round(expected[p]["revenue"], 2), p))[:20]
    body_revenue = get(client, token, "/analytics/product_visits/", sort="revenue", per_page=20, **period)
    assert [row["product_id"] for row in body_revenue["products"]] == by_revenue
    second_page = get(client, token, "/analytics/product_visits/", per_page=25, page=2, **period)
    assert [row["product_id"] for row in second_page["products"]] == by_views[25:50]
    for row in body["products"] + body_revenue["products"]:
        line = expected[row["product_id"]]
        assert row["views"] == line["views"]
        assert row["unique_visitors"] == len(line["viewers"])
        assert row["carts"] == line["carts"]
        assert row["purchases"] == line["purchases"]
        assert row["revenue"] == pytest.approx(round(line["revenue"], 2), abs=0.005)
        assert row["view_to_cart"] == ratio(line["carts"], line["views"])
        assert row["cart_to_purchase"] == ratio(line["purchases"], line["carts"])


def check_funnel(body: dict[str, Any], sample: Sample) -> None:
    steps = ["product_view", "add_to_cart", "purchase"]
    by_visitor: dict[str, list[Any]] = defaultdict(list)
    for row in sorted(sample.rows, key=lambda r: r.when):
        by_visitor[row.visitor].append(row)
    reached = [
        in_order(events, steps, timedelta(hours=1), first_ok=lambda when: sample.day(when) == OCT1)
        for events in by_visitor.values()
    ]
    expected = [sum(n > i for n in reached) for i in range(len(steps))]
    assert expected[-1] > 0
    assert [step["visitors"] for step in body["steps"]] == expected
    assert body["conversion_rate"] == ratio(expected[-1], expected[0])


def check_retention(body: dict[str, Any], sample: Sample) -> None:
    new_visitors = {visit.visitor for visit in sample.visits if visit.first}
    week = SEP30 - timedelta(days=SEP30.weekday())
    cohorts = {cohort["cohort"]: cohort for cohort in body["cohorts"]}
    assert cohorts[week.isoformat()]["visitors"] == len(new_visitors)
    assert cohorts[week.isoformat()]["retention"][0]["visitors"] == len(new_visitors)
