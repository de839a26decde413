"""What each webhook topic does; every handler is idempotent (a redelivery changes nothing)."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import delete, select

from analytics.data_requests import (
    delete_customer_data_requests,
    delete_shop_data_requests,
    write_data_request,
)
from analytics.orders import record_order, record_refund
from analytics.privacy import delete_shop_data, erase_customer, export_customer
from ml.delivery import forget_visitors
from ml.models import ModelVersion
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
    shopify_customer_id = int(customer["id"])
    export = export_customer(shop.id, shopify_customer_id)
    request_id = (payload.get("data_request") or {}).get("id", shopify_customer_id)
    write_data_request(shop.domain, request_id, shopify_customer_id, export)


def customer_redacted(shop: Shop, payload: dict[str, Any]) -> None:
    """customers/redact: erase the customer, their visitors' activity and their exports everywhere."""
    customer = payload.get("customer") or {}
    shopify_customer_id = int(customer["id"])
    email = customer.get("email") if isinstance(customer.get("email"), str) else None
    orders = [int(i) for i in payload.get("orders_to_redact") or []]
    erasure = erase_customer(shop.id, shopify_customer_id, orders, emails=[email] if email else [])
    forget_visitors(shop.id, erasure.visitor_keys)
    delete_customer_data_requests(shop.domain, shopify_customer_id)
    _forget_waiting_deliveries(shop.domain, shopify_customer_id, email)
    log.info("customer redacted", extra={"rows_deleted": sum(erasure.deleted.values())})


def _forget_waiting_deliveries(shop_domain: str, shopify_customer_id: int, email: str | None) -> None:
    """Clear the bodies of the shop's deliveries still kept (failed or waiting) that name the customer."""
    waiting = db.session.execute(
        select(WebhookDelivery).where(
            WebhookDelivery.shop_domain == shop_domain, WebhookDelivery.payload.is_not(None)
        )
    ).scalars()
    for delivery in waiting:
        if _names_customer(delivery.payload, shopify_customer_id, (email or "").lower()):
            delivery.payload = None
            delivery.error = None


def _names_customer(value: Any, shopify_customer_id: int, email: str) -> bool:
    """Whether a webhook body holds the customer's id (as a whole value) or email anywhere."""
    if isinstance(value, dict):
        return any(_names_customer(item, shopify_customer_id, email) for item in value.values())
    if isinstance(value, list):
        return any(_names_customer(item, shopify_customer_id, email) for item in value)
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == shopify_customer_id
    if isinstance(value, str):
        return (
            value == str(shopify_customer_id)
            or value.endswith(f"/Customer/{shopify_customer_id}")
            or (bool(email) and email in value.lower())
        )
    return False


def shop_redacted(shop: Shop, payload: dict[str, Any]) -> None:
    """shop/redact: delete every row and file we hold for the shop (this delivery's receipt too,
    once it is processed: `webhooks.services`)."""
    domain = shop.domain
    model_files = list(
        db.session.execute(select(ModelVersion).where(ModelVersion.shop_id == shop.id)).scalars()
    )
    # the shop's trained models (ml.training keeps them under MODEL_DIR/shop-<id>/v<n>); not
    # through ml.training, which would load TensorFlow into the webhook worker
    for version in model_files:
        shutil.rmtree(version.path, ignore_errors=True)
    shutil.rmtree(os.path.join(current_app.config["MODEL_DIR"], f"shop-{shop.id}"), ignore_errors=True)
    delete_shop_data(shop.id)
    delete_shop_data_requests(domain)
    db.session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.shop_domain == domain, WebhookDelivery.topic != SHOP_REDACT
        ),
        execution_options={"synchronize_session": False},
    )


SHOP_REDACT = "shop/redact"
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
    SHOP_REDACT: shop_redacted,
}
