"""Catalog sync: one bulk operation (JSONL with `__parentId`) mirrors products and collections.

Progress is kept on the shop (`catalog_sync_status`, `catalog_sync_progress`, `catalog_sync_error`)
and committed as it moves, so the merchant sees it while the sync runs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import Any

import requests
from sqlalchemy import select, update

from shopify_app.core import graphql as graphql_client
from shopify_app.core.errors import AppError
from shopify_app.core.extensions import db
from shopify_app.core.graphql import ShopifyApiError, graphql
from shopify_app.core.hooks import run_hooks
from shopify_app.core.models import Collection, Product, Shop
from shopify_app.core.types import utcnow
from webhooks.catalog import (
    catalog_index,
    money,
    parse_time,
    save_product,
    set_membership,
    shopify_id,
    summarise_variants,
)

log = logging.getLogger(__name__)

BULK_PRODUCTS_QUERY = """
{
  products {
    edges {
      node {
        id handle title vendor productType tags status totalInventory updatedAt publishedAt
        category { name }
        featuredImage { url }
        variants { edges { node { id title sku price compareAtPrice availableForSale inventoryQuantity } } }
        collections { edges { node { id handle title } } }
      }
    }
  }
}
"""

RUN_BULK = """
mutation RunBulk($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message }
  }
}
"""

CURRENT_BULK = """
query CurrentBulk {
  currentBulkOperation { id status errorCode objectCount url partialDataUrl }
}
"""

POLL_TIMEOUT_SECONDS = 600


class CatalogSyncFailed(ShopifyApiError):
    """The bulk operation did not complete."""

    code = "catalog_sync_failed"


def set_progress(shop_id: int, status: str, progress: int, error: str | None = None) -> None:
    """Record and commit the sync state the merchant sees."""
    values: dict[str, Any] = {
        "catalog_sync_status": status,
        "catalog_sync_progress": progress,
        "catalog_sync_error": error,
    }
    if status == "done":
        values["catalog_synced_at"] = utcnow()
    db.session.execute(
        update(Shop).where(Shop.id == shop_id).values(**values),
        execution_options={"synchronize_session": False},
    )
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False  # keep the loaded catalog usable
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def run_bulk_query(shop: Shop) -> str | None:
    """Start the bulk query and poll until it completes; the JSONL URL (None when empty)."""
    graphql(shop, RUN_BULK, {"query": BULK_PRODUCTS_QUERY})
    deadline = time.monotonic() + POLL_TIMEOUT_SECONDS
    delay = 0.2
    while time.monotonic() < deadline:
        operation = graphql(shop, CURRENT_BULK).get("currentBulkOperation") or {}
        status = operation.get("status")
        if status == "COMPLETED":
            url: str | None = operation.get("url")
            return url
        if status in {"FAILED", "CANCELED", "CANCELLED", "EXPIRED"}:
            raise CatalogSyncFailed(f"bulk operation {status.lower()}: {operation.get('errorCode')}")
        objects = int(operation.get("objectCount") or 0)
        set_progress(shop.id, "running", min(40, 10 + objects // 10))
        graphql_client.sleep(delay)  # one place to wait (tests record instead of sleeping)
        delay = min(5.0, delay * 2)
    raise CatalogSyncFailed("bulk operation did not finish in time")


def read_jsonl(url: str) -> list[dict[str, Any]]:
    """Download and parse a bulk operation's JSONL result."""
    response = requests.get(url, timeout=(5, 120))
    if response.status_code != 200:
        raise CatalogSyncFailed(f"bulk result download answered HTTP {response.status_code}")
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def group_records(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Products keyed by gid, each with its `variants` and `collections` children."""
    products: dict[str, dict[str, Any]] = {}
    for record in records:
        kind = record["id"].split("/")[-2]
        parent = record.get("__parentId")
        if kind == "Product" and parent is None:
            products.setdefault(record["id"], {"variants": [], "collections": []}).update(record)
        elif parent is not None:
            bucket = products.setdefault(parent, {"variants": [], "collections": []})
            bucket["variants" if kind == "ProductVariant" else "collections"].append(record)
    return products


def product_from_bulk(record: dict[str, Any]) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    """Our product fields and variants from one bulk product with its children."""
    variants = [
        {
            "shopify_id": shopify_id(item["id"]),
            "title": item.get("title"),
            "sku": item.get("sku"),
            "price": money(item.get("price")),
            "compare_at_price": money(item.get("compareAtPrice")),
            "inventory_quantity": item.get("inventoryQuantity"),
            "available": bool(item.get("availableForSale", True)),
        }
        for item in record["variants"]
    ]
    tags = record.get("tags")
    fields = {
        "handle": record.get("handle") or "",
        "title": record.get("title") or "",
        "vendor": record.get("vendor"),
        "product_type": record.get("productType"),
        "category": (record.get("category") or {}).get("name"),
        "tags": ", ".join(tags) if isinstance(tags, list) else tags,
        "image_url": (record.get("featuredImage") or {}).get("url"),
        "status": (record.get("status") or "ACTIVE").lower(),
        "published": record.get("publishedAt") is not None,
        "total_inventory": record.get("totalInventory"),
        "shopify_updated_at": parse_time(record.get("updatedAt")),
    }
    return shopify_id(record["id"]), summarise_variants(fields, variants), variants


def import_catalog(shop_id: int, records: list[dict[str, Any]]) -> list[int]:
    """Mirror the bulk result: upsert products, variants, collections; mark the rest deleted."""
    grouped = [record for record in group_records(records).values() if "id" in record]
    index = catalog_index(shop_id)
    collections = {
        collection.shopify_id: collection
        for collection in db.session.execute(
            select(Collection).where(Collection.shop_id == shop_id)
        ).scalars()
    }
    saved: list[tuple[Product, list[Collection]]] = []
    for number, record in enumerate(grouped, start=1):
        product_shopify_id, fields, variants = product_from_bulk(record)
        product = save_product(shop_id, product_shopify_id, fields, variants, index=index)
        saved.append((product, [_collection(shop_id, collections, child) for child in record["collections"]]))
        if number % 500 == 0:
            set_progress(shop_id, "importing", 50 + 45 * number // len(grouped))
    db.session.flush()
    memberships: dict[int, list[int]] = {collection.id: [] for collection in collections.values()}
    for product, in_collections in saved:
        for collection in in_collections:
            memberships.setdefault(collection.id, []).append(product.id)
    set_membership(shop_id, memberships)
    seen = [product.id for product, _ in saved]
    kept = set(seen)
    now = utcnow()
    for product in index.products.values():
        if product.deleted_at is None and product.id not in kept:
            product.deleted_at = now
    db.session.flush()
    return seen


def _collection(shop_id: int, known: dict[int, Collection], child: dict[str, Any]) -> Collection:
    number = shopify_id(child["id"])
    collection = known.get(number)
    if collection is None:
        collection = Collection(shop_id=shop_id, shopify_id=number)
        db.session.add(collection)
        known[number] = collection
    collection.handle = child.get("handle") or ""
    collection.title = child.get("title") or ""
    collection.deleted_at = None
    return collection


def sync_catalog(shop: Shop) -> int:
    """Run a full catalog sync for `shop`; returns the number of products; commits as it goes."""
    set_progress(shop.id, "running", 5)
    try:
        url = run_bulk_query(shop)
        set_progress(shop.id, "importing", 50)
        records = read_jsonl(url) if url else []
        product_ids = import_catalog(shop.id, records)
    except AppError as exc:
        db.session.rollback()
        set_progress(shop.id, "failed", 0, exc.message)
        raise
    set_progress(shop.id, "done", 100)
    run_hooks("catalog_changed", shop.id, product_ids)
    log.info("catalog synced: %d products", len(product_ids))
    return len(product_ids)
