"""Reads are reads: widget answers and the merchant's reports leave every table as it was.

A widget request with a new visitor id used to insert a visitor and an experiment assignment
(anyone could inflate a shop's experiment), and asking for a custom funnel kept its counts.
Every table's row count is taken before and after every GET, on MariaDB and on SQLite.
"""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import func, inspect, select, table

from recommend.catalog import bump_catalog_version
from recommend.widgets import WIDGETS
from shopify_app.core.auth import mint_session_token
from shopify_app.core.extensions import db
from tests.recommend.conftest import Store

EXTRA_QUERY = {"/analytics/funnel/": {"steps": "product_view,add_to_cart,purchase", "window_hours": "48"}}


def row_counts() -> dict[str, int]:
    """Rows in every table of the database."""
    names = inspect(db.session.connection()).get_table_names()
    return {
        name: int(db.session.execute(select(func.count()).select_from(table(name))).scalar() or 0)
        for name in names
    }


def _shop_with_history(store: Store) -> None:
    store.shop.settings = {"recommendations": {"holdout_share": 0.5}}
    bump_catalog_version(store.shop.id)
    known = store.browse("shirt", "shorts", carted=("shirt",))
    store.browse("socks", "shirt", visitor=known, bought=("socks",))
    store.browse("boots", "cap")
    store.impression(known, store.ask("crowd_favorites", visitor_id=known).get_json())  # an experiment


def test_every_widget_answers_new_and_known_visitors_without_writing(store: Store) -> None:
    _shop_with_history(store)
    known = store.browse("scarf", "shorts")
    before = row_counts()
    assert before["visitors"] > 0
    assert before["events"] > 0
    params = {"product_id": store.id("shirt"), "collection_id": str(store.collection.shopify_id)}
    for widget in WIDGETS:
        for visitor in (known, "v-brand-new-1", "v-brand-new-2", None):
            answer = store.ask(widget, visitor_id=visitor, **params)
            assert answer.status_code == 200, (widget, answer.get_json())
    assert row_counts() == before


def _get_routes(app: Flask, prefixes: tuple[str, ...]) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and rule.rule.startswith(prefixes)
    )


def test_every_report_and_segment_read_writes_nothing(store: Store, app: Flask) -> None:
    _shop_with_history(store)
    headers = {"Authorization": f"Bearer {mint_session_token(store.shop.domain)}"}
    created = store.client.post(
        "/segments/",
        headers=headers,
        json={"name": "Abandoners", "rule": {"type": "cart_abandoners", "days": 30}},
    )
    assert created.status_code == 201, created.get_json()
    segment_id = created.get_json()["id"]
    routes = _get_routes(app, ("/analytics/", "/segments/", "/admin/api/experiments"))
    assert "/analytics/funnel/" in routes
    assert "/segments/<int:segment_id>" in routes

    before = row_counts()
    asked = []
    for route in routes:
        path = route.replace("<int:segment_id>", str(segment_id))
        path = re.sub(r"<(?:string:)?key>", "recommendations", path)
        assert "<" not in path, f"a GET route this test does not know how to fill: {route}"
        query = EXTRA_QUERY.get(route, {})  # the default period: the last 30 days
        for _ in range(2):  # a second ask of the same report as well (caches, kept counts)
            answer = store.client.get(path, headers=headers, query_string=query)
            assert answer.status_code == 200, (path, answer.get_data(as_text=True)[:300])
        asked.append(path)
    assert row_counts() == before, asked
