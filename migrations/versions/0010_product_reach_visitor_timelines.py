"""Product reach (distinct products with activity over any period), visitor timelines and custom
funnels' day counts; reach and timelines filled from the daily product rows and the events

Revision ID: 0010
Revises: 0009
"""

import struct
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

DIGEST = sa.String(40).with_variant(
    mysql.VARCHAR(40, charset="ascii", collation="ascii_bin"), "mysql", "mariadb"
)
TIMELINE_BYTES = sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb")
BIAS = 2**31
MOMENT = struct.Struct(">I")
CHUNK = 50_000


def upgrade():
    op.create_table(
        "product_activity",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_product_activity_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "product_id", name=op.f("pk_product_activity")),
    )
    op.create_table(
        "daily_product_reach",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("products", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_daily_product_reach_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "day", "since", name=op.f("pk_daily_product_reach")),
    )
    op.create_table(
        "visitor_timelines",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visitor_id", sa.BigInteger(), nullable=False),
        sa.Column("moments", TIMELINE_BYTES, nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_visitor_timelines_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "type", "day", "visitor_id", name=op.f("pk_visitor_timelines")),
    )
    op.create_table(
        "funnel_day_counts",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("funnel_key", DIGEST, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("counts", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_funnel_day_counts_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "funnel_key", "day", name=op.f("pk_funnel_day_counts")),
    )
    op.execute(
        "INSERT INTO product_activity (shop_id, product_id, first_day, last_day)"
        " SELECT shop_id, product_id, MIN(day), MAX(day) FROM daily_product_metrics GROUP BY shop_id, product_id"
    )
    op.execute(
        "INSERT INTO daily_product_reach (shop_id, day, since, products)"
        " SELECT shop_id, day, since, COUNT(*) FROM (SELECT shop_id, day, COALESCE(LAG(day) OVER"
        " (PARTITION BY shop_id, product_id ORDER BY day), '1970-01-01') AS since FROM daily_product_metrics) days"
        " GROUP BY shop_id, day, since"
    )
    _fill_timelines()


def _zone(name):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _fill_timelines():
    """Every stored event into its visitor's timeline (in chunks of events, by id)."""
    bind = op.get_bind()
    timelines = sa.table(
        "visitor_timelines",
        sa.column("shop_id"),
        sa.column("type"),
        sa.column("day"),
        sa.column("visitor_id"),
        sa.column("moments", sa.LargeBinary()),
    )
    for shop_id, timezone in bind.execute(sa.text("SELECT id, timezone FROM shops")).all():
        zone = _zone(timezone)
        rows = defaultdict(bytearray)
        after = 0
        while True:
            chunk = bind.execute(
                sa.text(
                    "SELECT id, visitor_id, type, occurred_at FROM events WHERE shop_id = :shop AND id > :after"
                    " ORDER BY id LIMIT :n"
                ),
                {"shop": shop_id, "after": after, "n": CHUNK},
            ).all()
            for _, visitor_id, kind, when in chunk:
                if isinstance(when, str):
                    when = datetime.fromisoformat(when)
                day = when.replace(tzinfo=UTC).astimezone(zone).date()
                offset = (when - datetime.combine(day, time.min)) // timedelta(milliseconds=1)
                rows[(kind, day, visitor_id)] += MOMENT.pack(offset + BIAS)
            if len(chunk) < CHUNK:
                break
            after = chunk[-1][0]
        items = sorted(rows.items())
        for start in range(0, len(items), 1000):
            bind.execute(
                timelines.insert(),
                [
                    {"shop_id": shop_id, "type": kind, "day": day, "visitor_id": visitor, "moments": bytes(times)}
                    for (kind, day, visitor), times in items[start : start + 1000]
                ],
            )


def downgrade():
    op.drop_table("funnel_day_counts")
    op.drop_table("visitor_timelines")
    op.drop_table("daily_product_reach")
    op.drop_table("product_activity")
