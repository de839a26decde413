"""The stand-in's shop data: details and a small catalog in GraphQL Admin shapes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


def gid(kind: str, number: int) -> str:
    """A Shopify global id."""
    return f"gid://shopify/{kind}/{number}"


def default_catalog() -> list[dict[str, Any]]:
    """Three products (one sold out, one draft) with variants and two collections."""
    summer = {"id": gid("Collection", 501), "handle": "summer", "title": "Summer"}
    tops = {"id": gid("Collection", 502), "handle": "tops", "title": "Tops"}
    return [
        {
            "id": gid("Product", 1001),
            "handle": "linen-shirt",
            "title": "Linen Shirt",
            "vendor": "Acme",
            "productType": "Shirts",
            "tags": ["linen", "summer"],
            "status": "ACTIVE",
            "totalInventory": 12,
            "updatedAt": "2026-11-01T10:00:00Z",
            "publishedAt": "2026-10-01T10:00:00Z",
            "category": {"name": "Shirts"},
            "featuredImage": {"url": "https://cdn.example.com/linen.jpg"},
            "variants": [
                _variant(2001, "S", "49.00", 5),
                _variant(2002, "M", "52.00", 7),
            ],
            "collections": [summer, tops],
        },
        {
            "id": gid("Product", 1002),
            "handle": "straw-hat",
            "title": "Straw Hat",
            "vendor": "Acme",
            "productType": "Hats",
            "tags": ["summer"],
            "status": "ACTIVE",
            "totalInventory": 0,
            "updatedAt": "2026-11-01T10:00:00Z",
            "publishedAt": "2026-10-01T10:00:00Z",
            "category": None,
            "featuredImage": None,
            "variants": [_variant(2003, "Default Title", "25.00", 0, available=False)],
            "collections": [summer],
        },
        {
            "id": gid("Product", 1003),
            "handle": "wool-coat",
            "title": "Wool Coat",
            "vendor": "Acme",
            "productType": "Coats",
            "tags": [],
            "status": "DRAFT",
            "totalInventory": 3,
            "updatedAt": "2026-11-01T10:00:00Z",
            "publishedAt": None,
            "category": None,
            "featuredImage": None,
            "variants": [_variant(2004, "Default Title", "180.00", 3)],
            "collections": [],
        },
    ]


def _variant(number: int, title: str, price: str, stock: int, *, available: bool = True) -> dict[str, Any]:
    return {
        "id": gid("ProductVariant", number),
        "title": title,
        "sku": f"SKU-{number}",
        "price": price,
        "compareAtPrice": None,
        "availableForSale": available,
        "inventoryQuantity": stock,
    }


def bulk_jsonl(catalog: list[dict[str, Any]]) -> str:
    """The bulk operation result: one line per object, children naming their `__parentId`."""
    lines = []
    for product in catalog:
        parent = {k: v for k, v in product.items() if k not in {"variants", "collections"}}
        lines.append(json.dumps(parent))
        for child in [*product["variants"], *product["collections"]]:
            lines.append(json.dumps({**child, "__parentId": product["id"]}))
    return "\n".join(lines) + "\n"


@dataclass
class StandinShop:
    """One shop as the stand-in knows it."""

    domain: str
    name: str = "Stand-in Shop"
    email: str = "owner@example.com"
    currency: str = "EUR"
    timezone: str = "Europe/Berlin"
    plan: str = "Basic"
    catalog: list[dict[str, Any]] = field(default_factory=default_catalog)
    access_tokens: dict[str, float] = field(default_factory=dict)
    refresh_token: str | None = None
    customer_tags: dict[str, list[str]] = field(default_factory=dict)
    metafields: dict[tuple[str, str], str] = field(default_factory=dict)
    discount_codes: list[str] = field(default_factory=list)
    # Each code's usage limit (None: unlimited) and how many orders used it, as Shopify keeps them.
    discount_limits: dict[str, int | None] = field(default_factory=dict)
    discount_uses: dict[str, int] = field(default_factory=dict)
    webhook_subscriptions: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)  # webhook bodies (REST shape)

    def details(self) -> dict[str, Any]:
        """The GraphQL `shop` object."""
        return {
            "name": self.name,
            "email": self.email,
            "currencyCode": self.currency,
            "ianaTimezone": self.timezone,
            "myshopifyDomain": self.domain,
            "plan": {"displayName": self.plan},
        }
