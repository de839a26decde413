"""The stand-in's orders: Shopify's one order shown through the GraphQL Admin `orders` query, with
cursor pagination, `created_at` search and cost-based throttling.

Shopify keeps one order and shows it both as a webhook body (REST shape) and as a GraphQL node;
the stand-in keeps the webhook body a test sends and renders the node from it.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shopify_app.standin.catalog import gid

THROTTLED_ERROR = {
    "message": "Throttled",
    "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
}
_FIRST = re.compile(r"\(\s*first:\s*(\d+)")
_BOUND = re.compile(r"created_at:(>=|<=|>|<)'?([0-9T:\-+.Z]+)'?")


@dataclass
class CostBucket:
    """Shopify's leaky bucket: a query costs points, points come back at `restore_rate` a second."""

    maximum: float = 1000.0
    restore_rate: float = 50.0
    available: float = 1000.0
    _at: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def charge(self, requested: int) -> tuple[bool, dict[str, Any]]:
        """Take `requested` points if there are enough; the answer's `extensions.cost` either way."""
        with self._lock:
            now = time.monotonic()
            self.available = min(self.maximum, self.available + (now - self._at) * self.restore_rate)
            self._at = now
            served = requested <= self.available
            if served:
                self.available -= requested
            return served, {
                "cost": {
                    "requestedQueryCost": requested,
                    "actualQueryCost": requested if served else None,
                    "throttleStatus": {
                        "maximumAvailable": self.maximum,
                        "currentlyAvailable": int(self.available),
                        "restoreRate": self.restore_rate,
                    },
                }
            }


def query_cost(query: str, first: int) -> int:
    """Shopify's calculated cost, approximately: 2 for the connection plus, per requested order, 1
    and the `first` of every connection nested in it."""
    nested = [int(n) for n in _FIRST.findall(query)]
    return 2 + first * (1 + sum(nested))


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def matches(payload: dict[str, Any], search: str) -> bool:
    """Whether the order's `created_at` is within the search's `created_at:` bounds."""
    created = _time(payload.get("created_at"))
    if created is None:
        return False
    for operator, value in _BOUND.findall(search or ""):
        bound = _time(value)
        if bound is None:
            continue
        if not {
            ">=": created >= bound,
            ">": created > bound,
            "<=": created <= bound,
            "<": created < bound,
        }[operator]:
            return False
    return True


def _cursor(payload: dict[str, Any]) -> str:
    return base64.b64encode(f"order:{payload['admin_graphql_api_id']}".encode()).decode()


def orders_connection(
    orders: list[dict[str, Any]], *, first: int, after: str | None, search: str
) -> dict[str, Any]:
    """One page of the orders matching `search`, oldest first, after the `after` cursor."""
    found = sorted(
        (payload for payload in orders if matches(payload, search)),
        key=lambda payload: (_time(payload["created_at"]), payload["admin_graphql_api_id"]),
    )
    start = 0
    if after:
        cursors = [_cursor(payload) for payload in found]
        start = cursors.index(after) + 1 if after in cursors else len(found)
    page = found[start : start + first]
    return {
        "edges": [{"cursor": _cursor(payload), "node": order_node(payload)} for payload in page],
        "pageInfo": {
            "hasNextPage": start + first < len(found),
            "endCursor": _cursor(page[-1]) if page else None,
        },
    }


def _money(money_set: Any, fallback: Any = None) -> dict[str, Any]:
    shop_money = (money_set or {}).get("shop_money") or {}
    amount = shop_money.get("amount", fallback if fallback is not None else "0.00")
    return {"shopMoney": {"amount": str(amount), "currencyCode": shop_money.get("currency_code", "USD")}}


def _id(kind: str, value: Any, graphql_id: Any = None) -> str | None:
    if graphql_id:
        return str(graphql_id)
    return gid(kind, int(value)) if value not in (None, "") else None


def order_node(payload: dict[str, Any]) -> dict[str, Any]:
    """The GraphQL `Order` of a webhook body, with the fields the app asks for."""
    customer = payload.get("customer") or None
    return {
        "id": payload["admin_graphql_api_id"],
        "name": payload.get("name"),
        "createdAt": payload.get("created_at"),
        "processedAt": payload.get("processed_at"),
        "updatedAt": payload.get("updated_at"),
        "cancelledAt": payload.get("cancelled_at"),
        "test": bool(payload.get("test")),
        "sourceName": payload.get("source_name"),
        "taxesIncluded": bool(payload.get("taxes_included")),
        "currencyCode": payload.get("currency"),
        "displayFinancialStatus": str(payload.get("financial_status") or "").upper() or None,
        "totalPriceSet": _money(payload.get("total_price_set"), payload.get("total_price")),
        "subtotalPriceSet": _money(payload.get("subtotal_price_set"), payload.get("subtotal_price")),
        "totalDiscountsSet": _money(payload.get("total_discounts_set"), payload.get("total_discounts")),
        "totalShippingPriceSet": _money(payload.get("total_shipping_price_set")),
        "totalTaxSet": _money(payload.get("total_tax_set"), payload.get("total_tax")),
        "customAttributes": [
            {"key": attribute.get("name"), "value": attribute.get("value")}
            for attribute in payload.get("note_attributes") or []
        ],
        "customer": {"id": _id("Customer", customer.get("id"), customer.get("admin_graphql_api_id"))}
        if customer
        else None,
        "lineItems": {
            "nodes": [
                {
                    "id": _id("LineItem", item.get("id"), item.get("admin_graphql_api_id")),
                    "title": item.get("title"),
                    "quantity": item.get("quantity"),
                    "product": {"id": _id("Product", item["product_id"])} if item.get("product_id") else None,
                    "variant": {"id": _id("ProductVariant", item["variant_id"])}
                    if item.get("variant_id")
                    else None,
                    "originalUnitPriceSet": _money(item.get("price_set"), item.get("price")),
                }
                for item in payload.get("line_items") or []
            ]
        },
        "refunds": [_refund_node(refund) for refund in payload.get("refunds") or []],
    }


def _refund_node(refund: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _id("Refund", refund.get("id"), refund.get("admin_graphql_api_id")),
        "createdAt": refund.get("processed_at") or refund.get("created_at"),
        "refundLineItems": {
            "nodes": [
                {
                    "quantity": line.get("quantity"),
                    "subtotalSet": _money(line.get("subtotal_set"), line.get("subtotal")),
                    "totalTaxSet": _money(line.get("total_tax_set"), line.get("total_tax")),
                }
                for line in refund.get("refund_line_items") or []
            ]
        },
        "refundShippingLines": {
            "nodes": [
                {"subtotalAmountSet": _money(line.get("subtotal_amount_set"))}
                for line in refund.get("refund_shipping_lines") or []
            ]
        },
    }
