"""Session, device, referrer, campaign, page, visitor reach, product viewer and retention rollups;
sessions indexed by (shop, customer, day) for identified users

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

DIGEST = sa.String(40).with_variant(
    mysql.VARCHAR(40, charset="ascii", collation="ascii_bin"), "mysql", "mariadb"
)


def upgrade():
    op.create_table(
        "daily_campaign_metrics",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("campaign_key", DIGEST, nullable=False),
        sa.Column("utm_source", sa.String(length=255), nullable=False),
        sa.Column("utm_medium", sa.String(length=255), nullable=True),
        sa.Column("utm_campaign", sa.String(length=255), nullable=True),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("purchasing_sessions", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_daily_campaign_metrics_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("shop_id", "day", "campaign_key", name=op.f("pk_daily_campaign_metrics")),
    )
    op.create_table(
        "daily_device_metrics",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("device", sa.String(length=16), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("purchasing_sessions", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_daily_device_metrics_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "day", "device", name=op.f("pk_daily_device_metrics")),
    )
    op.create_table(
        "daily_page_metrics",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("page_key", DIGEST, nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_daily_page_metrics_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "day", "page_key", "since", name=op.f("pk_daily_page_metrics")),
    )
    op.create_table(
        "daily_product_viewers",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("visitors", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_daily_product_viewers_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "shop_id", "day", "product_id", "since", name=op.f("pk_daily_product_viewers")
        ),
    )
    op.create_table(
        "daily_referrer_metrics",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("referrer", sa.String(length=255), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_daily_referrer_metrics_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("shop_id", "day", "referrer", name=op.f("pk_daily_referrer_metrics")),
    )
    op.create_table(
        "daily_session_metrics",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("bounces", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("with_product_view", sa.Integer(), nullable=False),
        sa.Column("with_cart", sa.Integer(), nullable=False),
        sa.Column("with_checkout", sa.Integer(), nullable=False),
        sa.Column("with_purchase", sa.Integer(), nullable=False),
        sa.Column("reached_product_view", sa.Integer(), nullable=False),
        sa.Column("reached_cart", sa.Integer(), nullable=False),
        sa.Column("reached_checkout", sa.Integer(), nullable=False),
        sa.Column("reached_purchase", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_daily_session_metrics_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "day", name=op.f("pk_daily_session_metrics")),
    )
    op.create_table(
        "daily_visitor_reach",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("visitors", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_daily_visitor_reach_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "day", "since", name=op.f("pk_daily_visitor_reach")),
    )
    op.create_table(
        "retention_cells",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("cohort_day", sa.Date(), nullable=False),
        sa.Column("week", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("visitors", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_retention_cells_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "cohort_day", "week", name=op.f("pk_retention_cells")),
    )
    with op.batch_alter_table("daily_product_viewers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_daily_product_viewers_shop_id_product_id_day",
            ["shop_id", "product_id", "day", "since", "visitors"],
            unique=False,
        )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_shop_id_customer_id"))
        batch_op.create_index(
            "ix_sessions_shop_id_customer_id_day", ["shop_id", "customer_id", "day"], unique=False
        )


def downgrade():
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_shop_id_customer_id_day")
        batch_op.create_index(
            batch_op.f("ix_sessions_shop_id_customer_id"), ["shop_id", "customer_id"], unique=False
        )

    op.drop_table("retention_cells")
    op.drop_table("daily_visitor_reach")
    op.drop_table("daily_session_metrics")
    op.drop_table("daily_referrer_metrics")
    op.drop_table("daily_product_viewers")
    op.drop_table("daily_page_metrics")
    op.drop_table("daily_device_metrics")
    op.drop_table("daily_campaign_metrics")
