"""Rollup drift found by reconciliation: a day's rollup disagreeing with its raw events."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.core.extensions import db
from shopify_app.core.types import BigId, Timestamp, utcnow


class RollupDrift(db.Model):  # type: ignore[name-defined]
    """One metric of one day whose rollup value differed from the value rebuilt from events."""

    __tablename__ = "rollup_drifts"
    __table_args__ = (Index("ix_rollup_drifts_shop_id_day", "shop_id", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    metric: Mapped[str] = mapped_column(String(64))
    rollup_value: Mapped[str] = mapped_column(String(32))
    rebuilt_value: Mapped[str] = mapped_column(String(32))
    repaired: Mapped[bool] = mapped_column(default=False)
    found_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
