"""What the widgets may show: a per-process snapshot of a shop's sellable products and collections.

The snapshot also holds the shop's stored settings (pins, exclusions, holdout), which the admin
changes together with a version bump. A product is shown only while it is active, published, not deleted and in stock
(`Product.is_sellable`), and never when the merchant excluded it. The snapshot is keyed by the
shop's catalog version, which the `catalog_changed` hook bumps in the same transaction as the
product change, so the next request after an unpublish no longer sees the product.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from recommend.models import RecommendationState
from shopify_app.core.extensions import db
from shopify_app.core.models import Collection, CollectionProduct, Product, Shop


@dataclass(frozen=True)
class ProductCard:
    """A product as a widget shows it (ids are Shopify's)."""

    product_id: int
    handle: str
    title: str
    price: Decimal | None
    image: str | None
    vendor: str | None
    category: str | None

    def as_json(self) -> dict[str, object]:
        """The card in the API's shape; `url` is relative to the storefront's root."""
        return {
            "product_id": str(self.product_id),
            "handle": self.handle,
            "title": self.title,
            "price": None if self.price is None else f"{self.price:.2f}",
            "image": self.image,
            "url": f"/products/{self.handle}",
        }


class ShopCatalog:
    """Sellable products by Shopify id and each collection's products in the merchant's order."""

    def __init__(
        self,
        shop_id: int,
        version: int,
        cards: dict[int, ProductCard],
        collections: dict[int, list[int]],
        shop_settings: dict[str, Any] | None = None,
    ):
        self.shop_id = shop_id
        self.version = version
        self.shop_settings = shop_settings or {}
        self.experiment_arms: list[Any] | None = None  # read by the first widget request
        self.cards = cards
        self.collections = collections
        self.newest = sorted(cards, reverse=True)
        self._member_of: dict[int, list[int]] = {}
        for collection_id, products in collections.items():
            for product_id in products:
                self._member_of.setdefault(product_id, []).append(collection_id)

    def sellable(self, product_id: int) -> bool:
        """True while the product may be shown."""
        return product_id in self.cards

    def in_collection(self, collection_id: int) -> list[int]:
        """The collection's sellable products, in the merchant's order."""
        return [p for p in self.collections.get(collection_id, ()) if p in self.cards]

    def collections_of(self, product_id: int) -> list[int]:
        """The collections a product belongs to."""
        return self._member_of.get(product_id, [])


def catalog_version(shop_id: int) -> int:
    """The shop's catalog version (0 before any change)."""
    version = db.session.execute(
        select(RecommendationState.catalog_version).where(RecommendationState.shop_id == shop_id)
    ).scalar_one_or_none()
    return int(version or 0)


def bump_catalog_version(shop_id: int, _product_ids: list[int] | None = None) -> None:
    """The `catalog_changed` hook: every process reloads its snapshot on its next request."""
    state = RecommendationState.locked(shop_id)
    state.catalog_version += 1
    db.session.flush()


def load_catalog(shop_id: int, version: int) -> ShopCatalog:
    """Read the shop's sellable products and collection memberships."""
    rows = db.session.execute(
        select(
            Product.id,
            Product.shopify_id,
            Product.handle,
            Product.title,
            Product.price,
            Product.image_url,
            Product.vendor,
            Product.category,
            Product.product_type,
        ).where(
            Product.shop_id == shop_id,
            Product.status == "active",
            Product.published.is_(True),
            Product.available.is_(True),
            Product.deleted_at.is_(None),
        )
    ).all()
    cards: dict[int, ProductCard] = {}
    shopify_of: dict[int, int] = {}
    for row in rows:
        shopify_of[row.id] = row.shopify_id
        cards[row.shopify_id] = ProductCard(
            row.shopify_id, row.handle, row.title, row.price, row.image_url, row.vendor,
            row.category or row.product_type,
        )  # fmt: skip
    members = db.session.execute(
        select(Collection.shopify_id, CollectionProduct.product_id)
        .join(Collection, Collection.id == CollectionProduct.collection_id)
        .where(CollectionProduct.shop_id == shop_id, Collection.deleted_at.is_(None))
        .order_by(Collection.shopify_id, CollectionProduct.position)
    ).all()
    collections: dict[int, list[int]] = {}
    for collection_id, product_row_id in members:
        if product_row_id in shopify_of:
            collections.setdefault(collection_id, []).append(shopify_of[product_row_id])
    settings = db.session.execute(select(Shop.settings).where(Shop.id == shop_id)).scalar_one_or_none()
    return ShopCatalog(shop_id, version, cards, collections, settings)


_lock = threading.Lock()
_snapshots: dict[int, ShopCatalog] = {}


def current_catalog(shop_id: int) -> ShopCatalog:
    """This process's snapshot of the shop's catalog, reloaded when its version moved."""
    version = catalog_version(shop_id)
    snapshot = _snapshots.get(shop_id)
    if snapshot is None or snapshot.version != version:
        snapshot = load_catalog(shop_id, version)
        with _lock:
            _snapshots[shop_id] = snapshot
    return snapshot


def forget(shop_id: int | None = None) -> None:
    """Drop this process's snapshots (a shop's, or all)."""
    with _lock:
        if shop_id is None:
            _snapshots.clear()
        else:
            _snapshots.pop(shop_id, None)
