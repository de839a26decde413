"""Analytics: saved segments, their members and size history; rollup drift from reconciliation

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, sqlite

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIMESTAMP = (
    sa.DateTime().with_variant(mysql.DATETIME(fsp=3), "mariadb").with_variant(mysql.DATETIME(fsp=3), "mysql")
)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sqlite.JSON(), "sqlite")


def _shop_fk(table):
    return sa.ForeignKeyConstraint(
        ["shop_id"], ["shops.id"], name=op.f(f"fk_{table}_shop_id_shops"), ondelete="CASCADE"
    )


def upgrade():
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("rule", JSON, nullable=False),
        sa.Column("customer_tag", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", TIMESTAMP, nullable=True),
        sa.Column("synced_at", TIMESTAMP, nullable=True),
        sa.Column("sync_error", sa.String(length=1024), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        _shop_fk("segments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("shop_id", "name", name=op.f("uq_segments_shop_id_name")),
    )
    op.create_table(
        "segment_members",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", BIG_ID, nullable=False),
        sa.Column("added_at", TIMESTAMP, nullable=False),
        sa.Column("tagged", sa.Boolean(), nullable=False),
        _shop_fk("segment_members"),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_members_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_segment_members_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_members")),
        sa.UniqueConstraint(
            "segment_id", "customer_id", name=op.f("uq_segment_members_segment_id_customer_id")
        ),
    )
    with op.batch_alter_table("segment_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segment_members_shop_id"), ["shop_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_segment_members_customer_id"), ["customer_id"], unique=False)
    op.create_table(
        "segment_sizes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("measured_at", TIMESTAMP, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        _shop_fk("segment_sizes"),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_sizes_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_sizes")),
    )
    with op.batch_alter_table("segment_sizes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segment_sizes_shop_id"), ["shop_id"], unique=False)
        batch_op.create_index(
            "ix_segment_sizes_segment_id_measured_at", ["segment_id", "measured_at"], unique=False
        )
    op.create_table(
        "rollup_drifts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("rollup_value", sa.String(length=32), nullable=False),
        sa.Column("rebuilt_value", sa.String(length=32), nullable=False),
        sa.Column("repaired", sa.Boolean(), nullable=False),
        sa.Column("found_at", TIMESTAMP, nullable=False),
        _shop_fk("rollup_drifts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_drifts")),
    )
    with op.batch_alter_table("rollup_drifts", schema=None) as batch_op:
        batch_op.create_index("ix_rollup_drifts_shop_id_day", ["shop_id", "day"], unique=False)


def downgrade():
    op.drop_table("rollup_drifts")
    op.drop_table("segment_sizes")
    op.drop_table("segment_members")
    op.drop_table("segments")
