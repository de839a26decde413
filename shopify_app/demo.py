"""The demo shop: `demo-shop.myshopify.com` with a catalog built from the REES46 sample."""

from __future__ import annotations

import csv
import gzip
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import delete, select

from shopify_app.core.extensions import db
from shopify_app.core.hooks import run_hooks
from shopify_app.core.models import Collection, CollectionProduct, Product, Shop, Variant
from shopify_app.core.types import utcnow

log = logging.getLogger(__name__)

DEMO_SHOP_DOMAIN = "demo-shop.myshopify.com"
REES46_FILE = "rees46_2019-Oct_head.csv.gz"


@dataclass(frozen=True)
class CatalogItem:
    """One product as read from the REES46 sample."""

    product_id: int
    category_code: str
    brand: str
    price: Decimal

    @property
    def leaf(self) -> str:
        """The most specific category word, e.g. 'smartphone'."""
        return self.category_code.rsplit(".", 1)[-1] if self.category_code else ""

    @property
    def top_category(self) -> str:
        """The top-level category, e.g. 'electronics'; 'other' when unknown."""
        return self.category_code.split(".", 1)[0] if self.category_code else "other"

    @property
    def title(self) -> str:
        """A shopper-readable title from brand and category."""
        words = [self.brand.title() if self.brand else "", self.leaf.replace("_", " ").title()]
        name = " ".join(word for word in words if word) or "Product"
        return f"{name} {self.product_id}"

    @property
    def handle(self) -> str:
        """A URL handle, unique through the product id."""
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


@dataclass(frozen=True)
class DemoSeedResult:
    """What seeding created."""

    shop_id: int
    products: int
    collections: int


def read_rees46_catalog(path: Path) -> list[CatalogItem]:
    """Distinct products of a REES46 file with their last seen price (the cut last line is skipped)."""
    items: dict[int, CatalogItem] = {}
    for row in _rees46_rows(path):
        try:
            product_id = int(row["product_id"])
            price = Decimal(row["price"]).quantize(Decimal("0.01"))
        except (KeyError, ValueError, InvalidOperation, TypeError):
            continue
        items[product_id] = CatalogItem(
            product_id=product_id,
            category_code=row.get("category_code") or "",
            brand=row.get("brand") or "",
            price=price,
        )
    return list(items.values())


def _rees46_rows(path: Path) -> Iterator[dict[str, str]]:
    with gzip.open(path, "rt", newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            yield from reader
        except (EOFError, gzip.BadGzipFile, csv.Error):
            log.info("stopped at the truncated end of %s", path.name)


def seed_demo_shop(data_dir: Path) -> DemoSeedResult:
    """Create (or refresh) the demo shop and its catalog; one unit of work."""
    shop = db.session.execute(select(Shop).where(Shop.domain == DEMO_SHOP_DOMAIN)).scalar_one_or_none()
    if shop is None:
        shop = Shop(domain=DEMO_SHOP_DOMAIN)
        db.session.add(shop)
    shop.name = "Demo Shop"
    shop.plan = "development"
    shop.timezone = shop.timezone or "UTC"
    shop.currency = "USD"
    shop.installed_at = shop.installed_at or utcnow()
    shop.uninstalled_at = None
    shop.settings = shop.settings or {}
    db.session.flush()

    source = data_dir / REES46_FILE
    items = read_rees46_catalog(source) if source.exists() else []
    if not items:
        log.warning("demo catalog source %s not found; the demo shop has no products", source)
    products = _upsert_products(shop, items)
    collections = _rebuild_collections(shop, items, products)
    shop.catalog_sync_status = "done"
    shop.catalog_sync_progress = 100
    shop.catalog_synced_at = utcnow()
    run_hooks("catalog_changed", shop.id, [])
    db.session.commit()
    return DemoSeedResult(shop_id=shop.id, products=len(products), collections=collections)


def _upsert_products(shop: Shop, items: list[CatalogItem]) -> dict[int, Product]:
    existing = {
        product.shopify_id: product
        for product in db.session.execute(select(Product).where(Product.shop_id == shop.id)).scalars()
    }
    for item in items:
        product = existing.get(item.product_id)
        if product is None:
            product = Product(shop_id=shop.id, shopify_id=item.product_id)
            db.session.add(product)
            existing[item.product_id] = product
            product.variants.append(
                Variant(
                    shop_id=shop.id, shopify_id=item.product_id * 10 + 1, title="Default", price=item.price
                )
            )
        product.handle = item.handle
        product.title = item.title
        product.vendor = item.brand.title() or None
        product.product_type = item.leaf.replace("_", " ").title() or None
        product.category = item.category_code or None
        product.price = item.price
        product.image_url = f"/demo/store/images/{item.product_id}.svg"
        product.status = "active"
        product.published = True
        product.available = True
        product.deleted_at = None
    db.session.flush()
    return existing


def _rebuild_collections(shop: Shop, items: list[CatalogItem], products: dict[int, Product]) -> int:
    db.session.execute(delete(CollectionProduct).where(CollectionProduct.shop_id == shop.id))
    by_category: dict[str, list[CatalogItem]] = {}
    for item in items:
        by_category.setdefault(item.top_category, []).append(item)
    collections = {
        c.handle: c
        for c in db.session.execute(select(Collection).where(Collection.shop_id == shop.id)).scalars()
    }
    for number, (category, members) in enumerate(sorted(by_category.items()), start=1):
        handle = re.sub(r"[^a-z0-9]+", "-", category.lower()).strip("-")
        collection = collections.get(handle)
        if collection is None:
            collection = Collection(shop_id=shop.id, shopify_id=900000 + number, handle=handle)
            db.session.add(collection)
        collection.title = category.replace("_", " ").title()
        collection.deleted_at = None
        db.session.flush()
        for position, item in enumerate(sorted(members, key=lambda m: m.product_id)):
            db.session.add(
                CollectionProduct(
                    collection_id=collection.id,
                    product_id=products[item.product_id].id,
                    shop_id=shop.id,
                    position=position,
                )
            )
    db.session.flush()
    return len(by_category)
