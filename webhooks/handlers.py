"""What each webhook topic does; every handler is idempotent (a redelivery changes nothing)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import update

from analytics.orders import record_order, record_refund
from analytics.privacy import delete_shop_data, erase_customer, export_customer
from shopify_app.core.extensions import db
from shopify_app.core.hooks import run_hooks
from shopify_app.core.models import Shop
from shopify_app.core.types import utcnow
from webhooks.catalog import (
    delete_collection,
    delete_product,
    product_from_webhook,
    save_collection,
    save_product,
    shopify_id,
)
from webhooks.models import WebhookDelivery

log = logging.getLogger(__name__)

Handler = Callable[[Shop, dict[str, Any]], None]


def order_changed(shop: Shop, payload: dict[str, Any]) -> None:
    """orders/create|paid|updated|cancelled: record the purchase."""
    record_order(shop.id, payload)


def refund_created(shop: Shop, payload: dict[str, Any]) -> None:
    """refunds/create: the refund lowers net and total sales on the day it was processed."""
    record_refund(shop.id, payload)


def product_saved(shop: Shop, payload: dict[str, Any]) -> None:
    """products/create|update: mirror the product and its variants."""
    product_shopify_id, fields, variants = product_from_webhook(payload)
    product = save_product(shop.id, product_shopify_id, fields, variants)
    run_hooks("catalog_changed", shop.id, [product.id])


def product_deleted(shop: Shop, payload: dict[str, Any]) -> None:
    """products/delete: stop showing the product."""
    product = delete_product(shop.id, shopify_id(payload["id"], payload.get("admin_graphql_api_id")))
    if product is not None:
        run_hooks("catalog_changed", shop.id, [product.id])


def collection_saved(shop: Shop, payload: dict[str, Any]) -> None:
    """collections/create|update: mirror the collection's name and handle."""
    save_collection(
        shop.id,
        shopify_id(payload["id"], payload.get("admin_graphql_api_id")),
        handle=payload.get("handle") or "",
        title=payload.get("title") or "",
    )
    run_hooks("catalog_changed", shop.id, [])


def collection_deleted(shop: Shop, payload: dict[str, Any]) -> None:
    """collections/delete: drop the collection and its memberships."""
    product_ids = delete_collection(shop.id, shopify_id(payload["id"], payload.get("admin_graphql_api_id")))
    run_hooks("catalog_changed", shop.id, product_ids)


def app_uninstalled(shop: Shop, payload: dict[str, Any]) -> None:
    """app/uninstalled: stop serving the shop and forget its tokens; its data stays until shop/redact."""
    if shop.uninstalled_at is None:
        shop.uninstalled_at = utcnow()
    shop.access_token_encrypted = None
    shop.access_token_expires_at = None
    shop.refresh_token_encrypted = None
    shop.refresh_token_expires_at = None


def customer_data_requested(shop: Shop, payload: dict[str, Any]) -> None:
    """customers/data_request: write what we hold on the customer for the merchant to send on."""
    customer = payload.get("customer") or {}
    export = export_customer(shop.id, int(customer["id"]))
    folder = os.path.join(current_app.instance_path, "exports", shop.domain)
    os.makedirs(folder, exist_ok=True)
    request_id = (payload.get("data_request") or {}).get("id", customer["id"])
    with open(os.path.join(folder, f"data_request_{request_id}.json"), "w", encoding="utf-8") as out:
        json.dump(export, out, indent=2)


def customer_redacted(shop: Shop, payload: dict[str, Any]) -> None:
    """customers/redact: erase the customer's personal data everywhere."""
    customer = payload.get("customer") or {}
    erase_customer(shop.id, int(customer["id"]), [int(i) for i in payload.get("orders_to_redact") or []])


def shop_redacted(shop: Shop, payload: dict[str, Any]) -> None:
    """shop/redact: delete everything we hold for the shop, and any webhook body still kept."""
    domain = shop.domain
    delete_shop_data(shop.id)
    db.session.execute(
        update(WebhookDelivery).where(WebhookDelivery.shop_domain == domain).values(payload=None),
        execution_options={"synchronize_session": False},
    )


HANDLERS: dict[str, Handler] = {
    "orders/create": order_changed,
    "orders/paid": order_changed,
    "orders/updated": order_changed,
    "orders/cancelled": order_changed,
    "refunds/create": refund_created,
    "products/create": product_saved,
    "products/update": product_saved,
    "products/delete": product_deleted,
    "collections/create": collection_saved,
    "collections/update": collection_saved,
    "collections/delete": collection_deleted,
    "app/uninstalled": app_uninstalled,
    "customers/data_request": customer_data_requested,
    "customers/redact": customer_redacted,
    "shop/redact": shop_redacted,
}
