"""The tenant (Shop) and its catalog, which every other package refers to."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopify_app.core.extensions import db
from shopify_app.core.types import BigId, JsonDict, Money, Timestamp, utcnow


class Shop(db.Model):  # type: ignore[name-defined]
    """A merchant's store that installed the app; every other row belongs to one."""

    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    plan: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    access_token_encrypted: Mapped[str | None] = mapped_column(Text)
    access_token_expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    scopes: Mapped[str | None] = mapped_column(Text)
    installed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    uninstalled_at: Mapped[datetime | None] = mapped_column(Timestamp)
    settings: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    catalog_sync_status: Mapped[str] = mapped_column(String(32), default="never")
    catalog_sync_progress: Mapped[int] = mapped_column(Integer, default=0)
    catalog_sync_error: Mapped[str | None] = mapped_column(Text)
    catalog_synced_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # The shop's web pixel as Shopify last answered: "connected", "not_connected" or "error" (with
    # Shopify's message), its id, and the settings it was connected with (JSON text).
    web_pixel_status: Mapped[str] = mapped_column(
        String(16), default="not_connected", server_default="not_connected"
    )
    web_pixel_id: Mapped[str | None] = mapped_column(String(255))
    web_pixel_settings: Mapped[str | None] = mapped_column(Text)
    web_pixel_error: Mapped[str | None] = mapped_column(Text)
    web_pixel_checked_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)

    @property
    def is_active(self) -> bool:
        """Installed and not uninstalled since: the shop is served."""
        return self.installed_at is not None and self.uninstalled_at is None

    def __repr__(self) -> str:
        return f"<Shop {self.domain}>"


class Product(db.Model):  # type: ignore[name-defined]
    """A catalog product, mirrored from Shopify (bulk sync plus products/* webhooks)."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_id"),
        Index("ix_products_shop_id_handle", "shop_id", "handle"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    shopify_id: Mapped[int] = mapped_column(BigInteger)
    handle: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(512))
    vendor: Mapped[str | None] = mapped_column(String(255))
    product_type: Mapped[str | None] = mapped_column(String(255))
    category: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal | None] = mapped_column(Money)
    compare_at_price: Mapped[Decimal | None] = mapped_column(Money)
    image_url: Mapped[str | None] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16), default="active")
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    total_inventory: Mapped[int | None] = mapped_column(Integer)
    deleted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    shopify_updated_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)

    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def is_sellable(self) -> bool:
        """Shown to shoppers: active, published, not deleted and in stock."""
        return self.status == "active" and self.published and self.available and self.deleted_at is None


class Variant(db.Model):  # type: ignore[name-defined]
    """A purchasable variant of a product."""

    __tablename__ = "variants"
    __table_args__ = (UniqueConstraint("shop_id", "shopify_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    shopify_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str | None] = mapped_column(String(255))
    sku: Mapped[str | None] = mapped_column(String(255))
    price: Mapped[Decimal | None] = mapped_column(Money)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    inventory_quantity: Mapped[int | None] = mapped_column(Integer)

    product: Mapped[Product] = relationship(back_populates="variants")


class Collection(db.Model):  # type: ignore[name-defined]
    """A Shopify collection (custom or smart)."""

    __tablename__ = "collections"
    __table_args__ = (UniqueConstraint("shop_id", "shopify_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    shopify_id: Mapped[int] = mapped_column(BigInteger)
    handle: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(512))
    deleted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class CollectionProduct(db.Model):  # type: ignore[name-defined]
    """Membership of a product in a collection, with its position there."""

    __tablename__ = "collection_products"

    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Customer(db.Model):  # type: ignore[name-defined]
    """A shop's customer as Shopify knows them; personal fields are erased on redact."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("shop_id", "shopify_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    shopify_id: Mapped[int] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(255))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    redacted_at: Mapped[datetime | None] = mapped_column(Timestamp)
