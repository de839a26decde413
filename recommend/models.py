"""Recommendation tables: each session's product trail (the model's input) and per-shop versions.

`rec_sessions` holds, per session, the products viewed (in order), carted and bought, as
space-separated Shopify product ids. Workers upsert it as sessions grow; every web process
loads it into a `ShopRecommender` and then reads only rows whose `version` is newer than what
it holds. `rec_shop_state` carries the shop's model and catalog versions that key the caches;
a feeder takes the next model version under the state row's lock, so versions commit in order
and a reader never misses a row by reading past it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from analytics.models import REFERENCES
from shopify_app.core.extensions import db
from shopify_app.core.types import Timestamp


class RecommendationSession(db.Model):  # type: ignore[name-defined]
    """One session's product trail as the recommenders see it."""

    __tablename__ = "rec_sessions"
    __table_args__ = (Index("ix_rec_sessions_shop_id_version", "shop_id", "version"),)

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    session_id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False, info={REFERENCES: "sessions"}
    )
    viewed: Mapped[str] = mapped_column(Text, default="")
    carted: Mapped[str] = mapped_column(Text, default="")
    bought: Mapped[str] = mapped_column(Text, default="")
    last_event_at: Mapped[datetime] = mapped_column(Timestamp)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class RecommendationState(db.Model):  # type: ignore[name-defined]
    """A shop's model version (bumped when sessions feed in) and catalog version (bumped on change)."""

    __tablename__ = "rec_shop_state"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    model_version: Mapped[int] = mapped_column(BigInteger, default=0)
    catalog_version: Mapped[int] = mapped_column(BigInteger, default=0)
    rebuilt_at: Mapped[datetime | None] = mapped_column(Timestamp)

    @classmethod
    def locked(cls, shop_id: int) -> RecommendationState:
        """The shop's row, created if missing, locked until the transaction ends (flushes)."""
        from analytics.writer.sql import upsert

        upsert(cls.__table__, [{"shop_id": shop_id, "model_version": 0, "catalog_version": 0}],
               keys=["shop_id"], merge={"model_version": "max"})  # fmt: skip
        locking = select(cls).where(cls.shop_id == shop_id).with_for_update()
        return db.session.execute(locking.execution_options(populate_existing=True)).scalar_one()
