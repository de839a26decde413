"""Catalog sync import: our bulk import (catalog indexed in memory, one flush) against the baseline of
saving product by product as a webhook does (lookups per product, a commit each).

Usage: python -m bench platform [PRODUCTS]   (default 1000; SQLite file in a temp dir)
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from shopify_app.standin.catalog import bulk_jsonl, gid


def _catalog(products: int) -> list[dict[str, object]]:
    collections = [{"id": gid("Collection", 900 + n), "handle": f"c{n}", "title": f"C{n}"} for n in range(10)]
    return [
        {
            "id": gid("Product", 10_000 + n),
            "handle": f"p{n}",
            "title": f"Product {n}",
            "vendor": "Bench",
            "productType": "Thing",
            "tags": ["a", "b"],
            "status": "ACTIVE",
            "totalInventory": 5,
            "updatedAt": "2026-11-01T10:00:00Z",
            "publishedAt": "2026-10-01T10:00:00Z",
            "featuredImage": None,
            "variants": [
                {
                    "id": gid("ProductVariant", 100_000 + 3 * n + k),
                    "title": str(k),
                    "sku": None,
                    "price": "9.99",
                    "compareAtPrice": None,
                    "availableForSale": True,
                    "inventoryQuantity": 5,
                }
                for k in range(3)
            ],
            "collections": [collections[n % 10]],
        }
        for n in range(products)
    ]


def _timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main(argv: list[str]) -> None:
    """Print a table: seconds and products/s for a first sync and a re-sync, ours vs baseline."""
    import json

    from shopify_app import create_app
    from shopify_app.core.extensions import db
    from shopify_app.core.models import Shop
    from shopify_app.platform.catalog import group_records, import_catalog, product_from_bulk
    from webhooks.catalog import save_product

    products = int(argv[0]) if argv else 1000
    records = [json.loads(line) for line in bulk_jsonl(_catalog(products)).splitlines()]
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"ENV": {"DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.db'}", "REDIS_URL": ""}})
        with app.app_context():
            db.create_all()
            ours, baseline = (
                Shop(domain="ours.myshopify.com", settings={}),
                Shop(domain="base.myshopify.com", settings={}),
            )
            db.session.add_all([ours, baseline])
            db.session.commit()

            def ours_sync() -> None:
                import_catalog(ours.id, records)
                db.session.commit()

            def baseline_sync() -> None:
                for record in group_records(records).values():
                    product_id, fields, variants = product_from_bulk(record)
                    save_product(baseline.id, product_id, fields, variants)
                    db.session.commit()

            rows = []
            for label in ("first sync", "re-sync (no changes)"):
                mine, theirs = _timed(ours_sync), _timed(baseline_sync)
                rows.append((label, mine, theirs))
    print(f"{products} products x 3 variants, SQLite\n")
    print(
        "| run | ours: indexed bulk import (s) | baseline: product by product (s) | ours products/s | speed-up |"
    )
    print("|---|---|---|---|---|")
    for label, mine, theirs in rows:
        print(f"| {label} | {mine:.2f} | {theirs:.2f} | {products / mine:.0f} | {theirs / mine:.1f}x |")
