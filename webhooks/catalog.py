"""Writing the catalog mirror: products, variants, collections, from webhooks or a bulk sync."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from analytics.orders import money, parse_time, shopify_id
from shopify_app.core.extensions import db
from shopify_app.core.models import Collection, CollectionProduct, Product, Variant
from shopify_app.core.types import utcnow

PRODUCT_FIELDS = (
    "handle",
    "title",
    "vendor",
    "product_type",
    "category",
    "tags",
    "price",
    "compare_at_price",
    "image_url",
    "status",
    "published",
    "available",
    "total_inventory",
    "shopify_updated_at",
)


@dataclass
class CatalogIndex:
    """Products (with their variants loaded) and variants by Shopify id, so a sync looks up in memory."""

    products: dict[int, Product] = field(default_factory=dict)
    variants: dict[int, Variant] = field(default_factory=dict)


def catalog_index(shop_id: int, product_ids: list[int] | None = None) -> CatalogIndex:
    """The shop's catalog (or only the given products, by Shopify id) in two queries."""
    query = select(Product).where(Product.shop_id == shop_id).options(selectinload(Product.variants))
    if product_ids is not None:
        query = query.where(Product.shopify_id.in_(product_ids))
    index = CatalogIndex()
    for product in db.session.execute(query).scalars():
        index.products[product.shopify_id] = product
        index.variants.update((variant.shopify_id, variant) for variant in product.variants)
    return index


def save_product(
    shop_id: int,
    product_shopify_id: int,
    fields: dict[str, Any],
    variants: list[dict[str, Any]],
    *,
    index: CatalogIndex | None = None,
) -> Product:
    """Create or update one product and replace its variants (never commits).

    Without an `index` (a webhook) the product is looked up and the result flushed; a bulk sync
    passes one index for the whole catalog and flushes once at the end.
    """
    single = index is None
    if index is None:
        index = catalog_index(shop_id, [product_shopify_id])
        known = [v["shopify_id"] for v in variants if v["shopify_id"] not in index.variants]
        if known:  # a variant moved here from another product
            moved = select(Variant).where(Variant.shop_id == shop_id, Variant.shopify_id.in_(known))
            index.variants.update((v.shopify_id, v) for v in db.session.execute(moved).scalars())
    product = index.products.get(product_shopify_id)
    if product is None:
        product = Product(shop_id=shop_id, shopify_id=product_shopify_id)
        db.session.add(product)
        index.products[product_shopify_id] = product
    for name in PRODUCT_FIELDS:
        if name in fields:
            setattr(product, name, fields[name])
    product.deleted_at = None
    keep = {variant["shopify_id"] for variant in variants}
    for variant in list(product.variants):
        if variant.shopify_id not in keep:
            product.variants.remove(variant)  # delete-orphan: the row goes
            index.variants.pop(variant.shopify_id, None)
    for values in variants:
        row = index.variants.get(values["shopify_id"])
        if row is None:
            row = Variant(shop_id=shop_id, shopify_id=values["shopify_id"])
            index.variants[values["shopify_id"]] = row
        if row not in product.variants:
            product.variants.append(row)
        for name in ("title", "sku", "price", "available", "inventory_quantity"):
            setattr(row, name, values.get(name))
    if single:
        db.session.flush()
    return product


def summarise_variants(fields: dict[str, Any], variants: list[dict[str, Any]]) -> dict[str, Any]:
    """Add the product-level price, compare-at price, stock and availability from its variants."""
    prices = [v["price"] for v in variants if v.get("price") is not None]
    compare = [v["compare_at_price"] for v in variants if v.get("compare_at_price") is not None]
    stock = [v["inventory_quantity"] for v in variants if v.get("inventory_quantity") is not None]
    summary = dict(fields)
    summary["price"] = min(prices) if prices else None
    summary["compare_at_price"] = max(compare) if compare else None
    summary.setdefault("total_inventory", sum(stock) if stock else None)
    summary.setdefault("available", any(v.get("available") for v in variants) if variants else False)
    return summary


def product_from_webhook(payload: dict[str, Any]) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    """Our product fields and variants from a `products/create|update` payload."""
    variants = []
    for item in payload.get("variants") or []:
        quantity = item.get("inventory_quantity")
        policy = item.get("inventory_policy")
        variants.append(
            {
                "shopify_id": shopify_id(item["id"], item.get("admin_graphql_api_id")),
                "title": item.get("title"),
                "sku": item.get("sku"),
                "price": money(item.get("price")),
                "compare_at_price": money(item.get("compare_at_price")),
                "inventory_quantity": quantity,
                "available": policy == "continue" or quantity is None or quantity > 0,
            }
        )
    image = payload.get("image") or next(iter(payload.get("images") or []), None) or {}
    fields = {
        "handle": payload.get("handle") or "",
        "title": payload.get("title") or "",
        "vendor": payload.get("vendor"),
        "product_type": payload.get("product_type"),
        "tags": payload.get("tags"),
        "image_url": image.get("src"),
        "status": (payload.get("status") or "active").lower(),
        "published": payload.get("published_at") is not None,
        "shopify_updated_at": parse_time(payload.get("updated_at")),
    }
    product_id = shopify_id(payload["id"], payload.get("admin_graphql_api_id"))
    return product_id, summarise_variants(fields, variants), variants


def delete_product(shop_id: int, product_shopify_id: int) -> Product | None:
    """Mark a product deleted (kept for history; never shown again)."""
    product = db.session.execute(
        select(Product).where(Product.shop_id == shop_id, Product.shopify_id == product_shopify_id)
    ).scalar_one_or_none()
    if product is not None and product.deleted_at is None:
        product.deleted_at = utcnow()
        db.session.flush()
    return product


def save_collection(shop_id: int, collection_shopify_id: int, *, handle: str, title: str) -> Collection:
    """Create or update one collection (flushes, never commits)."""
    collection = db.session.execute(
        select(Collection).where(
            Collection.shop_id == shop_id, Collection.shopify_id == collection_shopify_id
        )
    ).scalar_one_or_none()
    if collection is None:
        collection = Collection(shop_id=shop_id, shopify_id=collection_shopify_id, handle=handle, title=title)
        db.session.add(collection)
    collection.handle = handle
    collection.title = title
    collection.deleted_at = None
    db.session.flush()
    return collection


def delete_collection(shop_id: int, collection_shopify_id: int) -> list[int]:
    """Mark a collection deleted and drop its memberships; returns the products it held."""
    collection = db.session.execute(
        select(Collection).where(
            Collection.shop_id == shop_id, Collection.shopify_id == collection_shopify_id
        )
    ).scalar_one_or_none()
    if collection is None:
        return []
    product_ids = list(
        db.session.execute(
            select(CollectionProduct.product_id).where(CollectionProduct.collection_id == collection.id)
        ).scalars()
    )
    db.session.execute(delete(CollectionProduct).where(CollectionProduct.collection_id == collection.id))
    collection.deleted_at = utcnow()
    db.session.flush()
    return product_ids


def set_membership(shop_id: int, memberships: dict[int, list[int]]) -> None:
    """Make each collection hold exactly these products in this order (collection id -> product ids)."""
    wanted: dict[tuple[int, int], int] = {}
    for collection_id, product_ids in memberships.items():
        for position, product_id in enumerate(dict.fromkeys(product_ids)):
            wanted[(collection_id, product_id)] = position
    existing = db.session.execute(
        select(CollectionProduct).where(
            CollectionProduct.shop_id == shop_id, CollectionProduct.collection_id.in_(list(memberships))
        )
    ).scalars()
    present = set()
    for row in existing:
        key = (row.collection_id, row.product_id)
        if key not in wanted:
            db.session.delete(row)
            continue
        present.add(key)
        if row.position != wanted[key]:
            row.position = wanted[key]
    for (collection_id, product_id), position in wanted.items():
        if (collection_id, product_id) not in present:
            db.session.add(
                CollectionProduct(
                    collection_id=collection_id, product_id=product_id, shop_id=shop_id, position=position
                )
            )
    db.session.flush()
