"""Rollups that make the reports' distinct counts and custom funnels cheap to read.

- `ProductActivity` + `DailyProductReach`: how many distinct products had activity in any range
  of days (the product report's `total` and its previous period's), in a few hundred rows.
- `VisitorTimeline`: the times of each visitor's events per type and day, packed in one row, so a
  custom funnel reads its steps' rows instead of the events table; `FunnelDayCount`: a custom
  funnel's counts per day, computed from them when asked and kept until those days' events change.

The writer keeps the first three in the same transaction as the events
(`analytics.writer.store`: `product_reach` and `timelines`), without foreign keys: their checks
on `shops` cost it time on every row (migration 0012), and deleting a shop empties the tables
explicitly (`analytics.privacy`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from analytics.models import REFERENCES, DigestKey
from shopify_app.core.extensions import db

BIAS = 2**31  # a local day can start up to 14 h before its UTC midnight
MOMENT = struct.Struct(">I")
# A visitor's day of events: up to 16 MB on MariaDB (a plain BLOB stops at 64 KB).
TimelineBytes = LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb")


class ProductActivity(db.Model):  # type: ignore[name-defined]
    """A product's first and last day with activity (a `daily_product_metrics` row).

    The writer locks a product's row while it adds the product's new days, so two writers never
    both count the same day as the product's first activity, nor miss each other's days. No
    foreign key (migration 0012; see the module docstring)."""

    __tablename__ = "product_activity"

    shop_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)


class DailyProductReach(db.Model):  # type: ignore[name-defined]
    """Products with activity that day, by the last earlier day they had some (NEVER when none).

    Distinct products of a range [a, b] = the rows of days in it whose `since` is before a (as
    `DailyVisitorReach` for visitors). No foreign key (migration 0012; see the module docstring)."""

    __tablename__ = "daily_product_reach"

    shop_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    since: Mapped[date] = mapped_column(Date, primary_key=True)
    products: Mapped[int] = mapped_column(Integer, default=0)


class VisitorTimeline(db.Model):  # type: ignore[name-defined]
    """The times of one visitor's events of one type on one day (the shop's day), for custom
    funnels: a funnel reads its steps' rows instead of the events table.

    `moments` packs each event's time as 4 bytes (unsigned big-endian): milliseconds after the
    day's midnight as a naive UTC time, plus 2**31 (a shop's local day can start before it).
    Appended to as events arrive, in any order. No foreign key (migration 0012; see the module
    docstring)."""

    __tablename__ = "visitor_timelines"

    shop_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    visitor_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, info={REFERENCES: "visitors"})
    moments: Mapped[bytes] = mapped_column(TimelineBytes)


class FunnelDayCount(db.Model):  # type: ignore[name-defined]
    """One day of one custom funnel (its steps and window): how many visitors did its first step
    that day and how many of them reached each later step, as comma-separated counts.

    Computed from the visitor timelines when the funnel is first asked for, and again whenever
    `version` (the shop's stored events from that day to the last day its window can reach,
    from `daily_shop_metrics`) has changed since."""

    __tablename__ = "funnel_day_counts"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    funnel_key: Mapped[str] = mapped_column(DigestKey, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    counts: Mapped[str] = mapped_column(String(255))


def pack(day: date, when: datetime) -> bytes:
    """`when` (naive UTC) as 4 bytes: milliseconds after `day`'s midnight, biased."""
    return MOMENT.pack((when - datetime.combine(day, time.min)) // timedelta(milliseconds=1) + BIAS)


def unpack(day: date, moments: bytes) -> Iterator[datetime]:
    """The times packed in a row of `day` (in stored order, not sorted)."""
    midnight = datetime.combine(day, time.min)
    for (value,) in MOMENT.iter_unpack(moments):
        yield midnight + timedelta(milliseconds=value - BIAS)
