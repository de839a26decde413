"""Storefront-like traffic posted to the collector (`POST /events/`, written in process): pages,
referrers, UTM campaigns, devices and checkouts give the numbers of the documented definitions,
computed here in plain Python from the events as sent."""

from __future__ import annotations

import random
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient

from shopify_app.core.auth import mint_session_token
from tests.analytics.independent import ratio

AGENTS = {
    "mobile": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
    "desktop": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
}
REFERRERS = [
    None,
    "https://www.google.com/search?q=kettle",
    "https://facebook.com/",
    "https://blog.example.org/a",
]
CAMPAIGNS = [None, ("news", "email", "autumn"), ("ig", "social", "launch")]
PAGES = ["/", "/collections/all", "/pages/about", "/blogs/news"]
PAGE_TYPES = {"page_view", "product_view", "collection_view", "search"}


def traffic(shop: str, now_ms: int) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(visitor, device, events) of 80 visitors over the last 30 hours, each with one to three visits."""
    rng = random.Random(7)
    visitors = []
    for number in range(80):
        device = rng.choice(list(AGENTS))
        events: list[dict[str, Any]] = []
        moment = now_ms - rng.randint(14, 30) * 3600_000  # every visit ends before now
        for _visit in range(rng.randint(1, 3)):
            campaign = rng.choice(CAMPAIGNS)
            referrer = rng.choice(REFERRERS)
            for step in range(rng.randint(1, 6)):
                path = rng.choice(PAGES)
                if step == 0 and campaign:
                    path += f"?utm_source={campaign[0]}&utm_medium={campaign[1]}&utm_campaign={campaign[2]}"
                kind = rng.choices(
                    ["page_view", "product_view", "add_to_cart", "checkout_started", "purchase"],
                    [5, 4, 2, 1, 1],
                )[0]
                event: dict[str, Any] = {
                    "id": str(uuid.uuid4()),
                    "type": kind,
                    "ts": moment,
                    "visitor_id": f"v{number}",
                }
                event["url"] = f"https://{shop}{path}"
                if step == 0 and referrer:
                    event["referrer"] = referrer
                if kind in ("product_view", "add_to_cart"):
                    event["product_id"] = rng.randint(1, 5)
                if kind == "purchase":
                    event["props"] = {"value": rng.choice([10.5, 20, 99.99]), "currency": "USD"}
                events.append(event)
                moment += rng.randint(10, 300) * 1000
            moment += rng.randint(31, 180) * 60_000  # a pause longer than the session timeout
        visitors.append((f"v{number}", device, events))
    return visitors


def sessions_of(visitors: list[tuple[str, str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Each visitor's events split where the gap reaches 30 minutes; the first event names the source."""
    visits = []
    for _visitor, device, events in visitors:
        current: list[dict[str, Any]] = []
        for event in events:
            if current and event["ts"] - current[-1]["ts"] >= 30 * 60_000:
                visits.append((device, current))
                current = []
            current.append(event)
        visits.append((device, current))
    return [{"device": device, "events": events} for device, events in visits]


def host(referrer: str | None) -> str:
    if not referrer:
        return "direct"
    name = referrer.split("/")[2]
    return name[4:] if name.startswith("www.") else name


def test_traffic_reports_equal_the_definitions(client: FlaskClient, shop: Any) -> None:
    now_ms = int(time.time() * 1000)
    visitors = traffic(shop.domain, now_ms)
    for _visitor, device, events in visitors:
        body = {"shop": shop.domain, "sent_at": int(time.time() * 1000), "events": events}
        response = client.post("/events/", json=body, headers={"User-Agent": AGENTS[device]})
        assert response.status_code == 202, response.get_json()
    visits = sessions_of(visitors)
    today = datetime.now(UTC).date()
    period = {"start": (today - timedelta(days=2)).isoformat(), "end": today.isoformat()}
    headers = {"Authorization": f"Bearer {mint_session_token(shop.domain)}"}

    def get(path: str, **args: Any) -> dict[str, Any]:
        response = client.get(path, query_string={**period, **args}, headers=headers)
        assert response.status_code == 200, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body

    def has(visit: dict[str, Any], kind: str) -> bool:
        return any(event["type"] == kind for event in visit["events"])

    def revenue(visit: dict[str, Any]) -> float:
        return sum(e["props"]["value"] for e in visit["events"] if e["type"] == "purchase")

    conversion = get("/analytics/visit_conversion/")
    assert conversion["visits"] == len(visits)
    assert conversion["checkouts"] == sum(has(v, "checkout_started") for v in visits) > 0
    assert conversion["purchases"] == sum(has(v, "purchase") for v in visits)

    pages: dict[str, list[Any]] = defaultdict(lambda: [0, set()])
    for index, visit in enumerate(visits):
        for event in visit["events"]:
            if event["type"] == "page_view":
                pages[event["url"]][0] += 1
                pages[event["url"]][1].add(index)
    expected_pages = sorted(pages.items(), key=lambda item: (-item[1][0], item[0]))[:10]
    assert [(p["url"], p["views"], p["sessions"]) for p in get("/analytics/top_pages/")["pages"]] == [
        (url, views, len(sessions)) for url, (views, sessions) in expected_pages
    ]

    by_host: dict[str, int] = defaultdict(int)
    for visit in visits:
        by_host[host(visit["events"][0].get("referrer"))] += 1
    sources = get("/analytics/referrers/")
    assert {row["referrer"]: row["sessions"] for row in sources["referrers"]} == dict(by_host)
    utm: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for visit in visits:
        query = visit["events"][0]["url"].partition("?")[2]
        if query:
            values = dict(pair.split("=") for pair in query.split("&"))
            line = utm[(values["utm_source"], values["utm_medium"], values["utm_campaign"])]
            line[0] += 1
            line[1] += has(visit, "purchase")
            line[2] += revenue(visit)
    assert {
        (r["utm_source"], r["utm_medium"], r["utm_campaign"]): [r["sessions"], r["purchases"], r["revenue"]]
        for r in sources["utm"]
    } == {key: [n, p, round(r, 2)] for key, (n, p, r) in utm.items()}

    devices = {row["device"]: row for row in get("/analytics/devices/")["devices"]}
    for device in AGENTS:
        mine = [v for v in visits if v["device"] == device]
        bought = sum(has(v, "purchase") for v in mine)
        assert devices[device]["sessions"] == len(mine)
        assert devices[device]["purchases"] == bought
        assert devices[device]["conversion_rate"] == ratio(bought, len(mine))
        assert devices[device]["revenue"] == round(sum(revenue(v) for v in mine), 2)

    bounces = sum(
        sum(e["type"] in PAGE_TYPES for e in v["events"]) <= 1
        and not any(has(v, kind) for kind in ("add_to_cart", "checkout_started", "purchase"))
        for v in visits
    )
    engagement = get("/analytics/engagement/")
    assert engagement["bounce_rate"] == ratio(bounces, len(visits))
    seconds = sum((v["events"][-1]["ts"] - v["events"][0]["ts"]) / 1000 for v in visits)
    assert abs(engagement["average_session_seconds"] - round(seconds / len(visits), 1)) <= 0.05
