"""The writer's rollup state: funnel progress and viewed pages on sessions, last visit and cohort
day on visitors, and when each visitor last viewed each product (filled from the events)

Sessions and visitors start without state (NULL): the writer reads a stored session's events, or
a visitor's sessions, once the first time it meets them after this migration. A missing viewed
product means "never viewed", so that table is filled here from the stored product views.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=3), "mysql", "mariadb")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("funnel_step", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("funnel_at", TIMESTAMP, nullable=True))
        batch_op.add_column(
            sa.Column("page_days", sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"), nullable=True)
        )
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_visit_day", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("cohort_day", sa.Date(), nullable=True))
    op.create_table(
        "viewed_products",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("visitor_id", BIG_ID, nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("last_viewed_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_viewed_products_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"],
            ["visitors.id"],
            name=op.f("fk_viewed_products_visitor_id_visitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("shop_id", "visitor_id", "product_id", name=op.f("pk_viewed_products")),
    )
    op.execute(
        "INSERT INTO viewed_products (shop_id, visitor_id, product_id, last_viewed_at)"
        " SELECT shop_id, visitor_id, product_id, MAX(occurred_at) FROM events"
        " WHERE type = 'product_view' AND product_id IS NOT NULL"
        " GROUP BY shop_id, visitor_id, product_id"
    )


def downgrade():
    op.drop_table("viewed_products")
    with op.batch_alter_table("visitors", schema=None) as batch_op:
        batch_op.drop_column("cohort_day")
        batch_op.drop_column("last_visit_day")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("page_days")
        batch_op.drop_column("funnel_at")
        batch_op.drop_column("funnel_step")
