"""Wiring of the analytics reports and segments APIs: blueprints and their OpenAPI description."""

from __future__ import annotations

from typing import Any

from flask import Flask

from analytics.reports.products import SORTS
from shopify_app.core.openapi import error_response, json_response, register_openapi

SECURED: list[dict[str, list[str]]] = [{"sessionToken": []}]
DENIED = {
    "400": error_response("A query argument is invalid"),
    "401": error_response("Missing, expired or foreign session token"),
    "403": error_response("Shop not installed"),
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


PERIOD = [
    _query("start", {"type": "string", "format": "date"}, "First day (shop time zone), inclusive"),
    _query("end", {"type": "string", "format": "date"}, "Last day (shop time zone), inclusive"),
    _query("interval", {"type": "string", "enum": ["day", "week", "month"]}, "Series bucket"),
]
PAGING = [
    _query("page", {"type": "integer", "minimum": 1}, "Page number"),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 500}, "Rows per page"),
]
REPORTS = {
    "session_count": "Sessions in the period",
    "user_count": "Visitors, identified users, new and returning visitors",
    "visit_conversion": "Sessions reaching product view, cart, checkout, purchase; ordered funnel",
    "engagement": "Bounce rate, average session duration and revenue per session (revenue: total sales of orders)",
    "top_pages": "The most viewed pages",
    "referrers": "Sessions by referring site and UTM source",
    "devices": "Sessions and conversion by device",
    "retention": "Weekly cohorts of new visitors and their return rates",
}
SALES_DESCRIPTION = (
    "Money comes from orders (order and refund webhooks, reconciled daily with Shopify's Admin API),"
    " never from browser purchase events; amounts are in the shop's currency (`shop_money`). As in"
    " Shopify's sales reports: `orders` counts orders placed on the period's days (cancelled ones"
    " too; test orders never); `gross_sales` is line price × quantity; `discounts` the order's"
    " discounts; `returns` the value of refunded lines after their discounts, on the day of the"
    " refund; a cancellation returns, on its day, what refunds had not; `net_sales` = gross −"
    " discounts − returns; `total_sales` = net + shipping + taxes (refunded shipping and taxes"
    " negative on the refund's day); `average_order_value` = (gross − discounts) of the orders"
    " placed ÷ orders. `conversion_rate` = `purchasing_sessions` (sessions an order was joined to"
    " through the visitor id in its cart attributes) ÷ sessions. Where we differ from Shopify:"
    " returns are at the refunded value after discounts (Shopify may show the returned line's"
    " discount under discounts; net sales agree); an edited order's new amounts replace its sale"
    " on the order's day (Shopify records the edit on the edit's day); duties and additional fees"
    " are not in total sales; conversion counts every session the tracker saw, not only the"
    " online store's. `unattributed` lists the orders no session saw (blocked tracker, declined"
    " consent, POS, draft orders) by channel (`source_name`): they count in every total."
)
EXTRA = {
    "product_visits": [
        *PAGING,
        _query(
            "sort",
            {"type": "string", "enum": list(SORTS)},
            "Sort column",
        ),
        _query("order", {"type": "string", "enum": ["asc", "desc"]}, "Sort order"),
    ],
    "funnel": [
        {
            "name": "steps",
            "in": "query",
            "required": True,
            "schema": {"type": "string"},
            "description": "2 to 8 event types, comma-separated",
        },
        _query("window_hours", {"type": "integer", "minimum": 1, "maximum": 2160}, "Conversion window"),
    ],
}


def _get(
    summary: str, parameters: list[dict[str, Any]], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "get": {
            "security": SECURED,
            "summary": summary,
            "parameters": parameters,
            "responses": {"200": json_response(summary, {"type": "object"}), **DENIED, **(extra or {})},
        }
    }


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI path items of the analytics and segments APIs."""
    paths: dict[str, Any] = {f"/analytics/{name}/": _get(text, PERIOD) for name, text in REPORTS.items()}
    paths["/analytics/product_visits/"] = _get(
        "Products with views, carts, purchases", PERIOD + EXTRA["product_visits"]
    )
    paths["/analytics/funnel/"] = _get(
        "A custom funnel with a conversion window: per day, visitors starting with the first step"
        " that day and the later steps they reached in order (days summed). With task workers the"
        " answer never waits for a count: `refreshing` says days are being counted, `days_pending`"
        " how many of the period's days its numbers still leave out",
        PERIOD + EXTRA["funnel"],
    )
    paths["/analytics/sales/"] = _get("Orders and sales by Shopify's definitions", PERIOD)
    paths["/analytics/sales/"]["get"]["description"] = SALES_DESCRIPTION
    paths["/analytics/reconciliation/"] = _get(
        "Per checked day: orders and sales (of the orders placed that day) in our reports and in"
        " Shopify's Admin API, and how many orders the reconciliation restored",
        PERIOD[:2],
    )
    paths["/segments/identified-users-list"] = _get("Identified customers and their activity", PAGING)
    paths["/segments/identified-users-sessions"] = _get(
        "Identified customers' sessions with events",
        [
            _query("customer_id", {"type": "integer", "minimum": 1}, "One customer"),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "Sessions"),
        ],
    )
    return paths | segment_paths()


def segment_paths() -> dict[str, Any]:
    """Saved segments: list/create, show/delete, refresh, export, sync, preview."""
    segment_id = [{"name": "segment_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    missing = {"404": error_response("No such segment")}
    body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["name", "rule"],
                    "properties": {
                        "name": {"type": "string"},
                        "rule": {"type": "object"},
                        "customer_tag": {"type": "string"},
                    },
                }
            }
        },
    }

    def operation(
        summary: str, parameters: list[dict[str, Any]], ok: str = "200", **more: Any
    ) -> dict[str, Any]:
        responses = {ok: json_response(summary, {"type": "object"}), **DENIED, **more.pop("responses", {})}
        return {
            "security": SECURED,
            "summary": summary,
            "parameters": parameters,
            "responses": responses,
            **more,
        }

    csv = {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}
    return {
        "/segments/": {
            "get": operation("Saved segments", []),
            "post": operation(
                "Save a segment", [], "201", requestBody=body, responses={"409": error_response("Name taken")}
            ),
        },
        "/segments/preview": {
            "post": operation(
                "Customers a rule selects now",
                [],
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object", "required": ["rule"]}}},
                },
            )
        },
        "/segments/{segment_id}": {
            "get": operation("A segment with its size over time", segment_id, responses=missing),
            "delete": {
                "security": SECURED,
                "summary": "Delete a segment",
                "parameters": segment_id,
                "responses": {"204": {"description": "Deleted"}, **DENIED, **missing},
            },
        },
        "/segments/{segment_id}/refresh": {
            "post": operation("Recompute members", segment_id, responses=missing)
        },
        "/segments/{segment_id}/export.csv": {
            "get": {
                "security": SECURED,
                "summary": "Members as CSV",
                "parameters": segment_id,
                "responses": {"200": csv, **DENIED, **missing},
            }
        },
        "/segments/{segment_id}/sync": {
            "post": operation(
                "Tag members in Shopify",
                segment_id,
                responses={**missing, "502": error_response("Shopify refused")},
            )
        },
    }


def init_app(app: Flask) -> None:
    """Register the analytics and segments blueprints, their OpenAPI paths and scheduled tasks."""
    from analytics.segments.views import bp as segments_bp
    from analytics.tasks import schedule
    from analytics.views import bp as reports_bp

    app.register_blueprint(reports_bp)
    app.register_blueprint(segments_bp)
    register_openapi(app, openapi_paths())
    schedule(app)
