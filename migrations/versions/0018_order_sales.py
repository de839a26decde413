"""Orders are the truth for money: each order's entries in the sales reports (its sale, refunds and
cancellation on their own days, as Shopify's reports count them), its channel and test flag, and
the daily reconciliation's drift against Shopify

Orders stored before this revision have no entries yet: the next webhook for the order, or a
reconciliation of its day, writes them (`analytics.sales_reconcile`).

Revision ID: 0018
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=3), "mariadb").with_variant(mysql.DATETIME(fsp=3), "mysql")
MONEY = sa.Numeric(precision=14, scale=2)


def upgrade():
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_name", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false()))

    op.create_table(
        "order_sales",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("order_id", BIG_ID, nullable=False),
        sa.Column("entry", sa.String(length=48), nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("gross_sales", MONEY, nullable=False),
        sa.Column("discounts", MONEY, nullable=False),
        sa.Column("returns", MONEY, nullable=False),
        sa.Column("shipping", MONEY, nullable=False),
        sa.Column("taxes", MONEY, nullable=False),
        sa.Column("total_sales", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_sales_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_order_sales_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_sales")),
        sa.UniqueConstraint("order_id", "entry", name=op.f("uq_order_sales_order_id_entry")),
    )
    with op.batch_alter_table("order_sales", schema=None) as batch_op:
        batch_op.create_index("ix_order_sales_shop_id_day", ["shop_id", "day"], unique=False)

    op.create_table(
        "sales_drifts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("our_orders", sa.Integer(), nullable=False),
        sa.Column("shopify_orders", sa.Integer(), nullable=False),
        sa.Column("our_sales", MONEY, nullable=False),
        sa.Column("shopify_sales", MONEY, nullable=False),
        sa.Column("restored_orders", sa.Integer(), nullable=False),
        sa.Column("checked_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_sales_drifts_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_drifts")),
        sa.UniqueConstraint("shop_id", "day", name=op.f("uq_sales_drifts_shop_id_day")),
    )


def downgrade():
    op.drop_table("sales_drifts")
    with op.batch_alter_table("order_sales", schema=None) as batch_op:
        batch_op.drop_index("ix_order_sales_shop_id_day")
    op.drop_table("order_sales")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("test")
        batch_op.drop_column("source_name")
