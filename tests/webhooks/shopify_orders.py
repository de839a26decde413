"""Shopify-shaped order and refund payloads for the money tests, built from Shopify's published
examples (../shared/shopify/webhook_orders_create.json and fixtures/refunds_create.json)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from shopify_app.standin import ShopifyStandin

REFUND_FIXTURE = Path(__file__).parent / "fixtures" / "refunds_create.json"


def money_set(amount: Decimal | str, *, presentment: Decimal | str | None = None) -> dict[str, Any]:
    """A Shopify MoneyBag: the shop's USD and (to prove which one is read) a buyer's EUR amount."""
    shown = Decimal(str(presentment if presentment is not None else Decimal(str(amount)) * Decimal("0.9")))
    return {
        "shop_money": {"amount": f"{Decimal(str(amount)):.2f}", "currency_code": "USD"},
        "presentment_money": {"amount": f"{shown:.2f}", "currency_code": "EUR"},
    }


def order(
    number: int,
    placed_at: str,
    *,
    lines: list[tuple[str, int]] | None = None,
    discount: str = "0.00",
    shipping: str = "0.00",
    tax: str = "0.00",
    visitor: str | None = None,
    source_name: str = "web",
    test: bool = False,
    cancelled_at: str | None = None,
    updated_at: str | None = None,
    refunds: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Shopify's orders/create example as order `number`: its lines, discount, shipping and tax
    in the shop's currency (presentment amounts differ), placed at `placed_at`."""
    payload = ShopifyStandin.sample("orders/create")
    items = payload["line_items"]
    chosen = lines if lines is not None else [(item["price"], item["quantity"]) for item in items]
    line_items = []
    for index, (price, quantity) in enumerate(chosen):
        item = copy.deepcopy(items[index % len(items)])
        item.update(
            {
                "id": number * 100 + index,
                "admin_graphql_api_id": f"gid://shopify/LineItem/{number * 100 + index}",
                "price": price,
                "price_set": money_set(price),
                "quantity": quantity,
                "product_id": 9000 + index,
            }
        )
        line_items.append(item)
    gross = sum((Decimal(price) * quantity for price, quantity in chosen), Decimal("0"))
    total = gross - Decimal(discount) + Decimal(shipping) + Decimal(tax)
    payload.update(
        {
            "id": number,
            "admin_graphql_api_id": f"gid://shopify/Order/{number}",
            "name": f"#{number}",
            "created_at": placed_at,
            "processed_at": placed_at,
            "updated_at": updated_at or cancelled_at or placed_at,
            "cancelled_at": cancelled_at,
            "test": test,
            "source_name": source_name,
            "currency": "USD",
            "presentment_currency": "EUR",
            "line_items": line_items,
            "total_line_items_price": f"{gross:.2f}",
            "total_line_items_price_set": money_set(gross),
            "total_discounts": f"{Decimal(discount):.2f}",
            "total_discounts_set": money_set(discount),
            "total_shipping_price_set": money_set(shipping),
            "total_tax": f"{Decimal(tax):.2f}",
            "total_tax_set": money_set(tax),
            "subtotal_price": f"{gross - Decimal(discount):.2f}",
            "subtotal_price_set": money_set(gross - Decimal(discount)),
            "total_price": f"{total:.2f}",
            "total_price_set": money_set(total),
            "note_attributes": [{"name": "_clickstream_visitor", "value": visitor}] if visitor else [],
            "refunds": refunds or [],
            "taxes_included": False,
        }
    )
    return payload


def refund(
    refund_id: int,
    order_number: int,
    processed_at: str,
    *,
    returned: str,
    tax: str = "0.00",
    shipping: str | None = None,
) -> dict[str, Any]:
    """Shopify's documented refund (fixtures/refunds_create.json) as refund `refund_id` of the
    order: `returned` of goods (after discounts), `tax` on them, and optionally refunded shipping."""
    payload: dict[str, Any] = json.loads(REFUND_FIXTURE.read_text())["payload"]
    payload.update(
        {
            "id": refund_id,
            "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
            "order_id": order_number,
            "created_at": processed_at,
            "processed_at": processed_at,
        }
    )
    line = payload["refund_line_items"][0]
    line.update(
        {
            "subtotal": float(returned),
            "subtotal_set": money_set(returned),
            "total_tax": float(tax),
            "total_tax_set": money_set(tax),
        }
    )
    if shipping is not None:
        payload["refund_shipping_lines"] = [
            {"id": refund_id, "shipping_line_id": 1, "subtotal_amount_set": money_set(shipping)}
        ]
    return payload
