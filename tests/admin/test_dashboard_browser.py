"""Headless Chromium opens the dashboard standalone (a `clickstream serve` process, demo shop),
sees the same numbers as the JSON API and charts that were really drawn; a screenshot is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import sync_playwright

from analytics.importer import import_events
from shopify_app.core.auth import mint_session_token
from shopify_app.demo import DEMO_SHOP_DOMAIN
from tests.conftest import SHARED
from tests.support.factories import make_shop
from tests.support.processes import clickstream, free_port, process_env

SAMPLE = SHARED / "data" / "rees46_2019-Oct_head.csv.gz"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PERIOD = {"start": "2019-09-25", "end": "2019-10-01"}


def api(client: FlaskClient, path: str, **args: Any) -> dict[str, Any]:
    token = mint_session_token(DEMO_SHOP_DOMAIN)
    response = client.get(path, query_string={**PERIOD, **args}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


@pytest.mark.committed
@pytest.mark.browser
def test_dashboard_in_chromium_shows_the_api_numbers_and_charts(
    client: FlaskClient, test_database: Any, db: Any
) -> None:
    shop = make_shop(domain=DEMO_SHOP_DOMAIN, name="Demo shop")
    db.session.commit()
    import_events(Path(SAMPLE), shop.domain, "rees46")
    sessions = api(client, "/analytics/session_count/", interval="day")
    conversion = api(client, "/analytics/visit_conversion/")
    engagement = api(client, "/analytics/engagement/")
    users = api(client, "/analytics/user_count/")
    top = api(client, "/analytics/product_visits/", per_page=10)
    assert sessions["sessions"] > 0

    port = free_port()
    env = process_env(DATABASE_URL=test_database.url, REDIS_URL="", PORT=str(port))
    ARTIFACTS.mkdir(exist_ok=True)
    with (
        clickstream("serve", "--workers", "1", env=env, ready="serving on"),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        query = "&".join(f"{key}={value}" for key, value in PERIOD.items())
        page.goto(f"http://127.0.0.1:{port}/admin/?{query}&interval=day")
        page.wait_for_function("document.querySelectorAll('canvas[data-chart]').length === 3")
        kpis = page.eval_on_selector_all(
            "[data-kpi]", "cards => Object.fromEntries(cards.map(c => [c.dataset.kpi, c.dataset.value]))"
        )
        assert float(kpis["sessions"]) == sessions["sessions"]
        assert float(kpis["visitors"]) == users["visitors"]
        assert float(kpis["purchase_rate"]) == conversion["purchase_rate"]
        assert float(kpis["revenue"]) == engagement["revenue"]
        assert float(kpis["bounce_rate"]) == engagement["bounce_rate"]
        shown = page.inner_text("[data-kpi=sessions] .kpi-value").replace(",", "")
        assert shown == str(sessions["sessions"])
        charts = page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('canvas[data-chart]')].map(canvas => {
                 const chart = Chart.getChart(canvas);
                 const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                 let painted = 0;
                 for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
                 return [canvas.dataset.chart, {labels: chart.data.labels, values: chart.data.datasets[0].data, painted}];
               }))"""
        )
        assert charts["sessions"]["values"] == [point["sessions"] for point in sessions["series"]]
        assert charts["sessions"]["labels"] == [point["period"] for point in sessions["series"]]
        assert charts["funnel"]["values"] == [step["sessions"] for step in conversion["funnel"]]
        assert charts["products"]["values"] == [row["views"] for row in top["products"]]
        for name, chart in charts.items():
            assert chart["painted"] > 500, f"the {name} chart drew nothing"
        page.screenshot(path=str(ARTIFACTS / "admin-dashboard.png"), full_page=True)
        browser.close()
    assert (ARTIFACTS / "admin-dashboard.png").stat().st_size > 10_000
