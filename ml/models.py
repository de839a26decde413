"""The model registry's database rows (the model files live beside them on disk)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from analytics.models import REFERENCES
from shopify_app.core.extensions import db
from shopify_app.core.types import BigId, JsonDict, Timestamp, utcnow


class ModelVersion(db.Model):  # type: ignore[name-defined]
    """A trained model: where its files are, how it scored, whether it serves."""

    __tablename__ = "model_versions"
    __table_args__ = (Index("ix_model_versions_shop_id_kind_status", "shop_id", "kind", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16), default="candidate")
    metrics: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    config: Mapped[dict[str, Any]] = mapped_column(JsonDict, default=dict)
    training_sessions: Mapped[int] = mapped_column(Integer, default=0)
    trained_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(Timestamp)


class DiscountCode(db.Model):  # type: ignore[name-defined]
    """A single-use discount code made ahead of time, handed to at most one session."""

    __tablename__ = "discount_codes"
    __table_args__ = (
        UniqueConstraint("shop_id", "code"),
        UniqueConstraint("session_id"),
        Index("ix_discount_codes_shop_id_percent_session_id", "shop_id", "percent", "session_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    percent: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    ends_at: Mapped[datetime] = mapped_column(Timestamp)
    # No foreign key to `sessions`: a code handed out stays handed out (never given to a second
    # session) when its session expires. A customer's erasure deletes the row of each of their
    # sessions (`REFERENCES`), so the code is gone from the pool too; `shop/redact` empties the table.
    session_id: Mapped[int | None] = mapped_column(BigInteger, info={REFERENCES: "sessions"})
    handed_out_at: Mapped[datetime | None] = mapped_column(Timestamp)
