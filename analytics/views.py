"""The analytics JSON API: `/analytics/*` reports for the embedded admin (session-token auth).

Every report takes `start`/`end` (inclusive YYYY-MM-DD in the shop's time zone, default the last
30 days), and answers with its numbers, `previous` (the same numbers for the period of the same
length just before) and `change` (relative change); time-based reports give a `series` when an
`interval` (day, week, month) is asked for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import Blueprint, Response, jsonify, request

from analytics import reports
from analytics.reports.cache import cached
from analytics.reports.period import Period, change
from analytics.reports.products import MAX_PAGE_SIZE, SORTS
from analytics.tasks import recount_funnel_days_later
from shopify_app.core.auth import admin_api, current_shop
from shopify_app.core.errors import BadRequest
from shopify_app.core.tasks import tasks_run_elsewhere

bp = Blueprint("analytics_reports", __name__, url_prefix="/analytics")

Report = Callable[[int, Period], dict[str, Any]]
NOT_COMPARED = frozenset({"page", "per_page", "weeks", "window_seconds", "days_pending"})
STEP_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def with_comparison(
    report: Report,
    shop_id: int,
    period: Period,
    *,
    key: tuple[Any, ...] = (),
    compared: bool = True,
    version: tuple[Any, ...] | None = None,
) -> dict[str, Any]:
    """The report for the period plus its numbers for the previous period (cached per data version).

    A report whose answer has no top-level numbers (lists only: pages, referrers, devices) passes
    `compared=False`: its previous period would be computed only to be dropped."""
    name = getattr(report, "__qualname__", repr(report))
    answer: dict[str, Any] = cached(
        (name, *key), shop_id, period, lambda: _compare(report, shop_id, period, compared), version=version
    )
    return answer


def _compare(report: Report, shop_id: int, period: Period, compared: bool = True) -> dict[str, Any]:
    current = report(shop_id, period)
    earlier = report(shop_id, Period(*_previous_bounds(period), period.timezone, None)) if compared else {}
    numbers = {
        key: value
        for key, value in earlier.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and key not in NOT_COMPARED
    }
    if earlier.get("refreshing"):
        current["refreshing"] = True
    current["start"] = period.start.isoformat()
    current["end"] = period.end.isoformat()
    current["previous"] = {
        "start": period.previous().start.isoformat(),
        "end": period.previous().end.isoformat(),
        **numbers,
    }
    current["change"] = {key: change(float(current[key]), float(value)) for key, value in numbers.items()}
    return current


def _previous_bounds(period: Period) -> tuple[Any, Any]:
    previous = period.previous()
    return previous.start, previous.end


def _answer(report: Report, *, compared: bool = True) -> Response:
    shop = current_shop()
    period = reports.parse_period(request.args, shop)
    return jsonify(with_comparison(report, shop.id, period, compared=compared))


@bp.get("/session_count/")
@admin_api
def session_count() -> Response:
    """Sessions in the period."""
    return _answer(reports.session_count)


@bp.get("/user_count/")
@admin_api
def user_count() -> Response:
    """Visitors, identified users, new and returning visitors."""
    return _answer(reports.user_count)


@bp.get("/visit_conversion/")
@admin_api
def visit_conversion() -> Response:
    """Sessions reaching product view, cart, checkout and purchase; the ordered funnel."""
    return _answer(reports.visit_conversion)


@bp.get("/engagement/")
@admin_api
def engagement() -> Response:
    """Bounce rate, average session duration, revenue per session."""
    return _answer(reports.engagement)


@bp.get("/sales/")
@admin_api
def sales() -> Response:
    """Orders and sales from order webhooks, by Shopify's definitions; AOV, conversion, unattributed."""
    return _answer(reports.sales)


@bp.get("/reconciliation/")
@admin_api
def reconciliation() -> Response:
    """Each checked day's orders and sales, ours against Shopify's, and the orders restored."""
    from analytics.sales_reconcile import drift_report

    shop = current_shop()
    period = reports.parse_period(request.args, shop)
    return jsonify(
        {
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "days": drift_report(shop.id, period),
        }
    )


@bp.get("/top_pages/")
@admin_api
def top_pages() -> Response:
    """The most viewed pages."""
    return _answer(reports.top_pages, compared=False)


@bp.get("/referrers/")
@admin_api
def referrers() -> Response:
    """Sessions by referring site and by UTM source, medium and campaign."""
    return _answer(reports.referrers, compared=False)


@bp.get("/devices/")
@admin_api
def devices() -> Response:
    """Sessions and conversion by device."""
    return _answer(reports.devices, compared=False)


@bp.get("/retention/")
@admin_api
def retention() -> Response:
    """Weekly cohorts of new visitors and their return rate."""
    shop = current_shop()
    period = reports.parse_period(request.args, shop)
    result = cached(("retention",), shop.id, period, lambda: reports.retention_cohorts(shop.id, period))
    return jsonify({"start": period.start.isoformat(), "end": period.end.isoformat(), **result})


@bp.get("/product_visits/")
@admin_api
def product_visits() -> Response:
    """Products with views, unique visitors, carts, purchases and revenue; sortable, paginated."""
    shop = current_shop()
    period = reports.parse_period(request.args, shop)
    sort = request.args.get("sort", "views")
    if sort not in SORTS:
        raise BadRequest(f"sort must be one of {', '.join(SORTS)}", field="sort")
    order = request.args.get("order", "desc")
    if order not in ("asc", "desc"):
        raise BadRequest("order must be asc or desc", field="order")
    page = int_arg("page", 1, minimum=1, maximum=1_000_000)
    per_page = int_arg("per_page", 20, minimum=1, maximum=MAX_PAGE_SIZE)

    def report(shop_id: int, within: Period) -> dict[str, Any]:
        if within != period:  # the previous period: only its total is compared
            return {"total": reports.products_with_activity(shop_id, within)}
        return reports.product_visits(
            shop_id, within, sort=sort, descending=order == "desc", page=page, per_page=per_page
        )

    return jsonify(with_comparison(report, shop.id, period, key=(sort, order, page, per_page)))


@bp.get("/funnel/")
@admin_api
def funnel() -> Response:
    """A custom funnel: visitors reaching the given event types in order within a window."""
    shop = current_shop()
    period = reports.parse_period(request.args, shop)
    steps = [step.strip() for step in request.args.get("steps", "").split(",") if step.strip()]
    if not 2 <= len(steps) <= 8 or not all(STEP_NAME.match(step) for step in steps):
        raise BadRequest("steps must list 2 to 8 event types, comma-separated", field="steps")
    window_hours = int_arg("window_hours", 24, minimum=1, maximum=24 * 90)

    def report(shop_id: int, within: Period) -> dict[str, Any]:
        # With task workers, the days to count are counted there and the answer says it is
        # refreshing; without them (embedded, small shops) they are counted before answering.
        later: list[date] | None = [] if tasks_run_elsewhere() else None
        answer = reports.custom_funnel(shop_id, within, steps, window_hours * 3600, later=later)
        if later:
            recount_funnel_days_later(shop_id, steps, window_hours * 3600, later)
        return answer

    return jsonify(with_comparison(report, shop.id, period, key=(tuple(steps), window_hours)))


def int_arg(name: str, default: int, *, minimum: int, maximum: int) -> int:
    """An integer query argument within bounds, or a 400 naming it."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number", field=name) from None
    if not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be between {minimum} and {maximum}", field=name)
    return value
