"""A second bulk sync mirrors what changed at Shopify: removed products, variants and memberships."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from shopify_app.core.models import Collection, CollectionProduct, Product, Variant
from shopify_app.platform.catalog import sync_catalog
from shopify_app.standin import ShopifyStandin
from tests.platform.conftest import install

pytestmark = pytest.mark.committed  # the sync commits its progress as it goes


def _by_handle(db: Any, shop: Any) -> dict[str, Product]:
    rows = db.session.execute(select(Product).where(Product.shop_id == shop.id)).scalars()
    return {product.handle: product for product in rows}


def test_a_resync_applies_removals_and_fires_catalog_changed(
    db: Any, standin: ShopifyStandin, waits: list[float], catalog_changes: list[Any]
) -> None:
    shop = install("resync.myshopify.com")
    assert sync_catalog(shop) == 3
    catalog = standin.shop(shop.domain).catalog
    catalog[0]["variants"] = catalog[0]["variants"][:1]  # linen shirt loses size M
    catalog[0]["collections"] = catalog[0]["collections"][:1]  # ... and leaves "tops"
    del catalog[1]  # straw hat is gone
    assert sync_catalog(shop) == 2
    db.session.expire_all()
    products = _by_handle(db, shop)
    assert products["straw-hat"].deleted_at is not None
    assert not products["straw-hat"].is_sellable
    assert products["linen-shirt"].deleted_at is None
    variants = db.session.execute(
        select(Variant).where(Variant.product_id == products["linen-shirt"].id)
    ).scalars()
    assert [v.title for v in variants] == ["S"]
    tops = db.session.execute(select(Collection).where(Collection.handle == "tops")).scalar_one()
    members = db.session.execute(
        select(CollectionProduct).where(CollectionProduct.collection_id == tops.id)
    ).all()
    assert members == []
    assert [len(ids) for _shop_id, ids in catalog_changes] == [3, 2]
    assert waits, "the sync polled the bulk operation while it was RUNNING"
