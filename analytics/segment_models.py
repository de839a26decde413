"""Segment tables: saved segments, their membership and size over time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.core.extensions import db
from shopify_app.core.types import BigId, JsonDict, Timestamp, utcnow


class Segment(db.Model):  # type: ignore[name-defined]
    """A saved group of identified customers defined by a behavioural rule."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("shop_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    rule: Mapped[dict[str, Any]] = mapped_column(JsonDict)
    customer_tag: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    synced_at: Mapped[datetime | None] = mapped_column(Timestamp)
    sync_error: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class SegmentMember(db.Model):  # type: ignore[name-defined]
    """A customer currently in a segment; `tagged` once the Shopify customer tag is on."""

    __tablename__ = "segment_members"
    __table_args__ = (UniqueConstraint("segment_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    tagged: Mapped[bool] = mapped_column(default=False)


class SegmentSize(db.Model):  # type: ignore[name-defined]
    """The size of a segment at one refresh, for its size-over-time chart."""

    __tablename__ = "segment_sizes"
    __table_args__ = (Index("ix_segment_sizes_segment_id_measured_at", "segment_id", "measured_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    measured_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    size: Mapped[int] = mapped_column(Integer)


# Reconciliation's table lives in its own module; importing it here registers it with the
# model modules the app factory loads (MODEL_MODULES lists this module for analytics' tables).
from analytics.drift_models import RollupDrift  # noqa: E402

__all__ = ["RollupDrift", "Segment", "SegmentMember", "SegmentSize"]
