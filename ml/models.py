"""The model registry's database rows (the model files live beside them on disk)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.core.extensions import db
from shopify_app.core.types import JsonDict, Timestamp, utcnow


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
