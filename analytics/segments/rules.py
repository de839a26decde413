"""Segment rules: what a saved segment means, validated, and the customers it selects today.

Rules (JSON, `type` plus options):
    viewed_without_buying  {"days": N, "product_id": X?}  viewed (product X) in the last N days,
                                                           no purchase (of X) in that window
    cart_abandoners        {"days": N}                    added to cart in the last N days, no purchase since
    rfm                    {"group": G}                   recency/frequency/monetary group of buyers
    high_intent            {"days": N, "threshold": p}    a recent session scored ≥ p (or, unscored,
                                                           reached cart/checkout) without buying
Members are identified customers (a visitor linked to a Shopify customer).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from analytics.models import Event, Order, OrderLine, VisitSession
from shopify_app.core.errors import BadRequest
from shopify_app.core.replica import read_session

RULE_TYPES = ("viewed_without_buying", "cart_abandoners", "rfm", "high_intent")
RFM_GROUPS = ("champions", "loyal", "new_buyers", "at_risk", "hibernating", "one_time")
MAX_DAYS = 365


def validate_rule(rule: Any) -> dict[str, Any]:
    """A clean copy of `rule`, or BadRequest naming the bad field."""
    if not isinstance(rule, dict):
        raise BadRequest("rule must be an object", field="rule")
    kind = rule.get("type")
    if kind not in RULE_TYPES:
        raise BadRequest(f"rule.type must be one of {', '.join(RULE_TYPES)}", field="rule.type")
    clean: dict[str, Any] = {"type": kind}
    if kind == "rfm":
        group = rule.get("group")
        if group not in RFM_GROUPS:
            raise BadRequest(f"rule.group must be one of {', '.join(RFM_GROUPS)}", field="rule.group")
        clean["group"] = group
        return clean
    clean["days"] = _int(rule.get("days", 30), "rule.days", 1, MAX_DAYS)
    if kind == "viewed_without_buying" and rule.get("product_id") not in (None, ""):
        clean["product_id"] = _int(rule.get("product_id"), "rule.product_id", 1, 2**63 - 1)
    if kind == "high_intent":
        threshold = rule.get("threshold", 0.5)
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold <= 1:
            raise BadRequest("rule.threshold must be a number in (0, 1]", field="rule.threshold")
        clean["threshold"] = float(threshold)
    return clean


def _int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise BadRequest(f"{field} must be a whole number", field=field)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{field} must be a whole number", field=field) from None
    if not low <= number <= high:
        raise BadRequest(f"{field} must be between {low} and {high}", field=field)
    return number


def describe_rule(rule: dict[str, Any]) -> str:
    """The rule in the merchant's words."""
    kind = rule["type"]
    if kind == "viewed_without_buying":
        what = f"product {rule['product_id']}" if "product_id" in rule else "products"
        return f"Viewed {what} in the last {rule['days']} days without buying"
    if kind == "cart_abandoners":
        return f"Added to cart in the last {rule['days']} days without buying"
    if kind == "high_intent":
        return (
            f"High purchase intent (≥ {rule['threshold']:.0%}) in the last {rule['days']} days, no purchase"
        )
    return f"RFM group: {rule['group'].replace('_', ' ')}"


def select_customers(shop_id: int, rule: dict[str, Any], now: datetime) -> set[int]:
    """The ids of the shop's customers the rule selects at `now`."""
    kind = rule["type"]
    if kind == "rfm":
        return rfm_groups(shop_id, now).get(rule["group"], set())
    since = now - timedelta(days=int(rule["days"]))
    if kind == "viewed_without_buying":
        return _viewed_without_buying(shop_id, since, rule.get("product_id"))
    if kind == "cart_abandoners":
        return _sessions_customers(shop_id, since, VisitSession.carts > 0) - _buyers(shop_id, since)
    intent = or_(
        VisitSession.purchase_probability >= rule["threshold"],
        (VisitSession.purchase_probability.is_(None))
        & ((VisitSession.carts > 0) | (VisitSession.checkouts > 0)),
    )
    return _sessions_customers(shop_id, since, intent & (VisitSession.purchases == 0)) - _buyers(
        shop_id, since
    )


def _sessions_customers(shop_id: int, since: datetime, condition: Any) -> set[int]:
    rows = read_session().execute(
        select(VisitSession.customer_id)
        .distinct()
        .where(
            VisitSession.shop_id == shop_id,
            VisitSession.customer_id.is_not(None),
            VisitSession.last_event_at >= since,
            condition,
        )
    )
    return {int(customer_id) for (customer_id,) in rows if customer_id is not None}


def _buyers(shop_id: int, since: datetime) -> set[int]:
    return _sessions_customers(shop_id, since, VisitSession.purchases > 0) | {
        int(customer_id)
        for (customer_id,) in read_session().execute(
            select(Order.customer_id)
            .distinct()
            .where(Order.shop_id == shop_id, Order.customer_id.is_not(None), Order.processed_at >= since)
        )
        if customer_id is not None
    }


def _viewed_without_buying(shop_id: int, since: datetime, product_id: int | None) -> set[int]:
    if product_id is None:
        return _sessions_customers(shop_id, since, VisitSession.product_views > 0) - _buyers(shop_id, since)
    bought_order = (
        select(Order.customer_id)
        .distinct()
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(
            Order.shop_id == shop_id,
            OrderLine.product_id == product_id,
            Order.processed_at >= since,
            Order.customer_id.is_not(None),
        )
    )
    ordered = {int(c) for (c,) in read_session().execute(bought_order) if c is not None}
    viewers = _product_event_customers(shop_id, since, product_id, "product_view")
    return viewers - _product_event_customers(shop_id, since, product_id, "purchase") - ordered


def _product_event_customers(shop_id: int, since: datetime, product_id: int, kind: str) -> set[int]:
    """Identified customers with an event of `kind` on the product since `since`."""
    rows = read_session().execute(
        select(VisitSession.customer_id)
        .distinct()
        .join(Event, Event.session_id == VisitSession.id)
        .where(
            Event.shop_id == shop_id,
            Event.product_id == product_id,
            Event.type == kind,
            Event.occurred_at >= since,
            VisitSession.customer_id.is_not(None),
        )
    )
    return {int(c) for (c,) in rows if c is not None}


def rfm_groups(shop_id: int, now: datetime) -> dict[str, set[int]]:
    """Buyers grouped by recency (days since last purchase) and frequency (purchasing sessions).

    champions: bought in the last 30 days and 3+ times; loyal: 3+ times, not recently;
    new_buyers: first and only purchase in the last 30 days; at_risk: 2+ times, none in 90 days;
    hibernating: once, more than 90 days ago; one_time: once, 30 to 90 days ago; the rest (2 buys,
    within 90 days) count as loyal.
    """
    rows = read_session().execute(
        select(VisitSession.customer_id, func.count(), func.max(VisitSession.last_event_at))
        .where(
            VisitSession.shop_id == shop_id,
            VisitSession.customer_id.is_not(None),
            VisitSession.purchases > 0,
        )
        .group_by(VisitSession.customer_id)
    )
    groups: dict[str, set[int]] = {group: set() for group in RFM_GROUPS}
    for customer_id, purchases, last in rows:
        recency = (now - last).days
        frequency = int(purchases)
        if frequency >= 3:
            group = "champions" if recency <= 30 else ("at_risk" if recency > 90 else "loyal")
        elif frequency == 2:
            group = "at_risk" if recency > 90 else "loyal"
        elif recency <= 30:
            group = "new_buyers"
        else:
            group = "hibernating" if recency > 90 else "one_time"
        if customer_id is not None:
            groups[group].add(int(customer_id))
    return groups
