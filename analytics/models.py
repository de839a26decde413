"""Visitors, sessions, events, orders and the daily rollups built from them.

Events are append-only and idempotent on (shop_id, event_id). They are not partitioned on
MySQL: a partitioned table's unique keys must contain the partition column, and the only
stable per-event column (the client id) is not a time. See the README, "Retention".
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from shopify_app.core.extensions import db
from shopify_app.core.types import BigId, JsonDict, Money, Timestamp, utcnow

LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
# A visitor key is the tracker's opaque id, compared byte for byte: under a case- and
# accent-insensitive collation `v-Case` and `v-case` (or `v-1` and `v-1 `) were one visitor to the
# unique key and two to the writer (migration 0013). `nopad_bin`: trailing spaces count too.
VisitorKey = String(64).with_variant(
    mysql.VARCHAR(64, charset="utf8mb4", collation="utf8mb4_nopad_bin"), "mysql", "mariadb"
)
REFERENCES = "references"  # Column.info key: the table a column without a foreign key points into
# Column.info key: text as a shopper's browser sent it (URLs, campaigns), which can carry personal
# data (an `?email=` in a link); a customer's erasure removes rows (or clears the column when it
# may be NULL) where it holds the customer's email (`analytics.privacy`).
SHOPPER_TEXT = "shopper_text"
SENT = {SHOPPER_TEXT: True}


class Visitor(db.Model):  # type: ignore[name-defined]
    """A browser as the tracker knows it: a first-party visitor id."""

    __tablename__ = "visitors"
    __table_args__ = (UniqueConstraint("shop_id", "visitor_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    visitor_key: Mapped[str] = mapped_column(VisitorKey)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    first_seen_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    device: Mapped[str | None] = mapped_column(String(16))
    # The writer's state for the visitor reach and retention rollups (NULL until the writer has
    # stored a session for the visitor since migration 0009; it then reads the sessions once).
    last_visit_day: Mapped[date | None] = mapped_column(Date)
    cohort_day: Mapped[date | None] = mapped_column(Date)


class VisitorCustomer(db.Model):  # type: ignore[name-defined]
    """A link between a visitor and a customer, made by a login or an order."""

    __tablename__ = "visitor_customers"
    __table_args__ = (UniqueConstraint("visitor_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    visitor_id: Mapped[int] = mapped_column(ForeignKey("visitors.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    linked_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class VisitSession(db.Model):  # type: ignore[name-defined]
    """A session: one visitor's events with gaps under the shop's timeout."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_shop_id_started_at", "shop_id", "started_at"),
        Index("ix_sessions_shop_id_visitor_id_last_event_at", "shop_id", "visitor_id", "last_event_at"),
        Index("ix_sessions_shop_id_customer_id_day", "shop_id", "customer_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    visitor_id: Mapped[int] = mapped_column(ForeignKey("visitors.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(Timestamp)
    last_event_at: Mapped[datetime] = mapped_column(Timestamp)
    day: Mapped[date] = mapped_column(Date)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    page_views: Mapped[int] = mapped_column(Integer, default=0)
    product_views: Mapped[int] = mapped_column(Integer, default=0)
    carts: Mapped[int] = mapped_column(Integer, default=0)
    checkouts: Mapped[int] = mapped_column(Integer, default=0)
    purchases: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    landing_url: Mapped[str | None] = mapped_column(String(2048), info=SENT)
    referrer: Mapped[str | None] = mapped_column(String(2048), info=SENT)
    utm_source: Mapped[str | None] = mapped_column(String(255), info=SENT)
    utm_medium: Mapped[str | None] = mapped_column(String(255), info=SENT)
    utm_campaign: Mapped[str | None] = mapped_column(String(255), info=SENT)
    device: Mapped[str | None] = mapped_column(String(16))
    is_new_visitor: Mapped[bool] = mapped_column(Boolean, default=True)
    purchase_probability: Mapped[float | None] = mapped_column()
    # The writer's state for the session and page rollups, so a continuing session's events are
    # never read back: how far it got along the funnel and when, and each viewed URL's last day
    # and the day before it (`analytics.writer.session_state`). NULL funnel_step: not known yet.
    funnel_step: Mapped[int | None] = mapped_column(SmallInteger)
    funnel_at: Mapped[datetime | None] = mapped_column(Timestamp)
    page_days: Mapped[str | None] = mapped_column(LongText, info=SENT)
    # Notifications given to the session, raised by a conditional UPDATE so the merchant's
    # per-session cap holds across processes (`ml.delivery.claim_slot`).
    notifications_shown: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Event(db.Model):  # type: ignore[name-defined]
    """One shopper action, stored once per (shop, event id).

    No foreign keys: each cost a parent lookup per stored event on the hottest insert (migration
    0011). The writer stores events for the visitor and session rows it holds locked; whoever
    deletes a shop, a customer or old sessions deletes or detaches their events too
    (`analytics.privacy`, `analytics.retention`). `customer_id` names its parent in `info`
    (`REFERENCES`), so a customer's erasure still finds it."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("shop_id", "event_id"),
        Index("ix_events_shop_id_occurred_at", "shop_id", "occurred_at"),
        Index("ix_events_shop_id_product_id_occurred_at", "shop_id", "product_id", "occurred_at"),
        Index("ix_events_shop_id_visitor_id_occurred_at", "shop_id", "visitor_id", "occurred_at"),
        Index("ix_events_session_id", "session_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(64))  # a UUID or a Shopify pixel event id
    visitor_id: Mapped[int] = mapped_column(BigId, info={REFERENCES: "visitors"})
    session_id: Mapped[int] = mapped_column(BigId, info={REFERENCES: "sessions"})
    customer_id: Mapped[int | None] = mapped_column(BigId, info={REFERENCES: "customers"})
    type: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[int | None] = mapped_column(BigInteger)
    url: Mapped[str | None] = mapped_column(String(2048), info=SENT)
    referrer: Mapped[str | None] = mapped_column(String(2048), info=SENT)
    utm_source: Mapped[str | None] = mapped_column(String(255), info=SENT)
    utm_medium: Mapped[str | None] = mapped_column(String(255), info=SENT)
    utm_campaign: Mapped[str | None] = mapped_column(String(255), info=SENT)
    props: Mapped[dict[str, Any] | None] = mapped_column(JsonDict, info=SENT)
    client_ts: Mapped[datetime] = mapped_column(Timestamp)
    occurred_at: Mapped[datetime] = mapped_column(Timestamp)
    received_at: Mapped[datetime] = mapped_column(Timestamp)


class Order(db.Model):  # type: ignore[name-defined]
    """A Shopify order: the authoritative purchase, joined back to the visit when we can."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "shopify_id"),
        Index("ix_orders_shop_id_processed_at", "shop_id", "processed_at"),
        Index("ix_orders_shop_id_customer_id", "shop_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    shopify_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    visitor_id: Mapped[int | None] = mapped_column(ForeignKey("visitors.id", ondelete="SET NULL"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    total_price: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    subtotal_price: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    financial_status: Mapped[str | None] = mapped_column(String(32))
    # Shopify's channel: "web", "pos", "shopify_draft_order", an app id...
    source_name: Mapped[str | None] = mapped_column(String(64))
    # Test orders (Shopify Payments in test mode) are kept but, as in Shopify's reports, never counted.
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(Timestamp)
    processed_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    shopify_updated_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class OrderLine(db.Model):  # type: ignore[name-defined]
    """A line item of an order."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(BigInteger)
    variant_id: Mapped[int | None] = mapped_column(BigInteger)
    title: Mapped[str | None] = mapped_column(String(512))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    price: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class DailyShopMetric(db.Model):  # type: ignore[name-defined]
    """Per-shop, per-day totals, kept by the writer in the same transaction as the events."""

    __tablename__ = "daily_shop_metrics"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer, default=0)
    new_visitors: Mapped[int] = mapped_column(Integer, default=0)
    events: Mapped[int] = mapped_column(Integer, default=0)
    page_views: Mapped[int] = mapped_column(Integer, default=0)
    product_views: Mapped[int] = mapped_column(Integer, default=0)
    carts: Mapped[int] = mapped_column(Integer, default=0)
    checkouts: Mapped[int] = mapped_column(Integer, default=0)
    purchases: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class DailyProductMetric(db.Model):  # type: ignore[name-defined]
    """Per-product, per-day counts for product analytics and popularity.

    No foreign key: its check on `shops` cost the writer time on every product view it upserts
    (migration 0012); deleting a shop empties the table explicitly (`analytics.privacy`). No
    (shop_id, day) index either: the primary key starts with those columns."""

    __tablename__ = "daily_product_metrics"

    shop_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    views: Mapped[int] = mapped_column(Integer, default=0)
    carts: Mapped[int] = mapped_column(Integer, default=0)
    purchases: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class MonthlyProductMetric(db.Model):  # type: ignore[name-defined]
    """Per-product, per-month sums of `daily_product_metrics`, with the days that have a row.

    `active_days` has bit d-1 set when the product has a daily row on day d of the month. The
    product report ranks from these (a month's sum bounds any part of it) and reads exact totals
    of a few products from the daily rows.

    No foreign key, as for `DailyProductMetric` (migration 0012).
    """

    __tablename__ = "monthly_product_metrics"
    __table_args__ = (
        # the products of a month by each sort, largest first
        Index("ix_monthly_product_metrics_views", "shop_id", "month", "views"),
        Index("ix_monthly_product_metrics_carts", "shop_id", "month", "carts"),
        Index("ix_monthly_product_metrics_purchases", "shop_id", "month", "purchases"),
        Index("ix_monthly_product_metrics_revenue", "shop_id", "month", "revenue"),
        # how many products had a day in the period, without reading whole rows
        Index("ix_monthly_product_metrics_active_days", "shop_id", "month", "active_days"),
    )

    shop_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    views: Mapped[int] = mapped_column(Integer, default=0)
    carts: Mapped[int] = mapped_column(Integer, default=0)
    purchases: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    active_days: Mapped[int] = mapped_column(Integer, default=0)


# The first day a reach row can name as "seen before": none (the primary key cannot be NULL).
NEVER = date(1970, 1, 1)
# A SHA-1 hex digest naming a long text (a URL, a campaign): compared as bytes on MariaDB, where a
# unicode collation made grouping by it several times slower.
DigestKey = String(40).with_variant(
    mysql.VARCHAR(40, charset="ascii", collation="ascii_bin"), "mysql", "mariadb"
)


class DailySessionMetric(db.Model):  # type: ignore[name-defined]
    """Per-day totals of the sessions that started that day (engagement, conversion, the funnel)."""

    __tablename__ = "daily_session_metrics"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer, default=0)
    bounces: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    with_product_view: Mapped[int] = mapped_column(Integer, default=0)
    with_cart: Mapped[int] = mapped_column(Integer, default=0)
    with_checkout: Mapped[int] = mapped_column(Integer, default=0)
    with_purchase: Mapped[int] = mapped_column(Integer, default=0)
    reached_product_view: Mapped[int] = mapped_column(Integer, default=0)
    reached_cart: Mapped[int] = mapped_column(Integer, default=0)
    reached_checkout: Mapped[int] = mapped_column(Integer, default=0)
    reached_purchase: Mapped[int] = mapped_column(Integer, default=0)


class DailyDeviceMetric(db.Model):  # type: ignore[name-defined]
    """Sessions, buying sessions and revenue per device type and session day."""

    __tablename__ = "daily_device_metrics"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    device: Mapped[str] = mapped_column(String(16), primary_key=True)
    sessions: Mapped[int] = mapped_column(Integer, default=0)
    purchasing_sessions: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class DailyReferrerMetric(db.Model):  # type: ignore[name-defined]
    """Sessions per referring host ('direct' when none) and session day."""

    __tablename__ = "daily_referrer_metrics"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    referrer: Mapped[str] = mapped_column(String(255), primary_key=True, info=SENT)
    sessions: Mapped[int] = mapped_column(Integer, default=0)


class DailyCampaignMetric(db.Model):  # type: ignore[name-defined]
    """Sessions, buying sessions and revenue per UTM source/medium/campaign and session day."""

    __tablename__ = "daily_campaign_metrics"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    campaign_key: Mapped[str] = mapped_column(DigestKey, primary_key=True)
    utm_source: Mapped[str] = mapped_column(String(255), info=SENT)
    utm_medium: Mapped[str | None] = mapped_column(String(255), info=SENT)
    utm_campaign: Mapped[str | None] = mapped_column(String(255), info=SENT)
    sessions: Mapped[int] = mapped_column(Integer, default=0)
    purchasing_sessions: Mapped[int] = mapped_column(Integer, default=0)
    revenue: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class DailyPageMetric(db.Model):  # type: ignore[name-defined]
    """Page views per URL and day, and the sessions viewing it that day.

    `since` is the last earlier day the same session viewed the URL (NEVER when none), so the
    distinct sessions of any range [a, b] are the rows of days in it whose `since` is before a.
    """

    __tablename__ = "daily_page_metrics"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    page_key: Mapped[str] = mapped_column(DigestKey, primary_key=True)
    since: Mapped[date] = mapped_column(Date, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), info=SENT)
    views: Mapped[int] = mapped_column(Integer, default=0)
    sessions: Mapped[int] = mapped_column(Integer, default=0)


class DailyVisitorReach(db.Model):  # type: ignore[name-defined]
    """Visitors with a session that day, by the last earlier day they had one (NEVER when none).

    Distinct visitors of a range [a, b] = the rows of days in it whose `since` is before a.
    """

    __tablename__ = "daily_visitor_reach"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    since: Mapped[date] = mapped_column(Date, primary_key=True)
    visitors: Mapped[int] = mapped_column(Integer, default=0)


class DailyProductViewers(db.Model):  # type: ignore[name-defined]
    """Visitors viewing a product that day, by the last earlier day they viewed it (NEVER when none).

    No foreign key, as for `DailyProductMetric` (migration 0012)."""

    __tablename__ = "daily_product_viewers"
    __table_args__ = (
        # the products of one report page over a period, without reading every product's rows
        Index(
            "ix_daily_product_viewers_shop_id_product_id_day",
            "shop_id",
            "product_id",
            "day",
            "since",
            "visitors",
        ),
    )

    shop_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    since: Mapped[date] = mapped_column(Date, primary_key=True)
    visitors: Mapped[int] = mapped_column(Integer, default=0)


class ViewedProduct(db.Model):  # type: ignore[name-defined]
    """When a visitor last viewed a product: the writer's state for the product viewers rollup
    (a batch needs each viewer's previous day, not their stored product views). Only the day
    counts: `last_viewed_at` is rewritten when a later day's view comes, so it is a view of the
    last day the visitor viewed the product, not necessarily that day's last.

    No foreign keys: their checks on `shops` and `visitors` cost the writer time on every product
    view it upserts (migration 0012); visitors go only with their shop, and deleting a shop empties
    the table explicitly (`analytics.privacy`)."""

    __tablename__ = "viewed_products"

    shop_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visitor_id: Mapped[int] = mapped_column(
        BigId, primary_key=True, autoincrement=False, info={REFERENCES: "visitors"}
    )
    product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_viewed_at: Mapped[datetime] = mapped_column(Timestamp)


class RetentionCell(db.Model):  # type: ignore[name-defined]
    """New visitors of a first-visit day active `week` weeks after their cohort week."""

    __tablename__ = "retention_cells"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    cohort_day: Mapped[date] = mapped_column(Date, primary_key=True)
    week: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    visitors: Mapped[int] = mapped_column(Integer, default=0)


class Experiment(db.Model):  # type: ignore[name-defined]
    """An A/B test with a holdout: widgets and notifications each run one."""

    __tablename__ = "experiments"
    __table_args__ = (UniqueConstraint("shop_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    arms: Mapped[list[dict[str, Any]]] = mapped_column(JsonDict)
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)


class ExperimentAssignment(db.Model):  # type: ignore[name-defined]
    """Which arm a visitor is in, and when they were first exposed to it."""

    __tablename__ = "experiment_assignments"
    __table_args__ = (
        UniqueConstraint("experiment_id", "visitor_id"),
        Index("ix_experiment_assignments_shop_id_experiment_id", "shop_id", "experiment_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    visitor_id: Mapped[int] = mapped_column(ForeignKey("visitors.id", ondelete="CASCADE"))
    arm: Mapped[str] = mapped_column(String(32))
    assigned_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    first_exposed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    exposures: Mapped[int] = mapped_column(Integer, default=0)


class DeadLetter(db.Model):  # type: ignore[name-defined]
    """An ingest batch the writer could not store, kept for inspection and replay
    (`analytics.dead_letters`).

    `shop_id` has no foreign key: a dead letter must be writable for any entry, even one naming a
    shop deleted since; deleting a shop empties every table with a `shop_id` (`analytics.privacy`).
    `error` is the exception's class, the database's error code and a message without values;
    `error_code` the database's code, or the name of the writer's check the batch failed."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    shop_id: Mapped[int | None] = mapped_column(Integer, index=True)
    shop_domain: Mapped[str | None] = mapped_column(String(255))
    stream_id: Mapped[str | None] = mapped_column(String(64), index=True)
    payload: Mapped[str] = mapped_column(LongText)
    error: Mapped[str] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
