"""Monthly product rollup (sums of daily_product_metrics and the days with a row), filled from
the daily rows

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXED = ("views", "carts", "purchases", "revenue", "active_days")
# Each (shop, day, product) has one daily row, so summing the days' bits is OR-ing them.
FILL = {
    "mysql": "DATE_FORMAT(day, '%Y-%m-01')",
    "sqlite": "date(day, 'start of month')",
}
DAY_OF_MONTH = {"mysql": "DAYOFMONTH(day)", "sqlite": "CAST(strftime('%d', day) AS INTEGER)"}


def upgrade():
    op.create_table(
        "monthly_product_metrics",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("carts", sa.Integer(), nullable=False),
        sa.Column("purchases", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("active_days", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
            name=op.f("fk_monthly_product_metrics_shop_id_shops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("shop_id", "month", "product_id", name=op.f("pk_monthly_product_metrics")),
    )
    with op.batch_alter_table("monthly_product_metrics", schema=None) as batch_op:
        for column in INDEXED:
            batch_op.create_index(
                f"ix_monthly_product_metrics_{column}", ["shop_id", "month", column], unique=False
            )
    dialect = "sqlite" if op.get_bind().dialect.name == "sqlite" else "mysql"
    op.execute(
        "INSERT INTO monthly_product_metrics"
        " (shop_id, month, product_id, views, carts, purchases, revenue, active_days)"
        f" SELECT shop_id, {FILL[dialect]}, product_id, SUM(views), SUM(carts), SUM(purchases), SUM(revenue),"
        f" SUM(1 << ({DAY_OF_MONTH[dialect]} - 1)) FROM daily_product_metrics"
        f" GROUP BY shop_id, {FILL[dialect]}, product_id"
    )


def downgrade():
    op.drop_table("monthly_product_metrics")
