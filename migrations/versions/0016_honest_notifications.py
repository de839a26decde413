"""Honest notifications: a session's notification count kept with the session, and a pool of
single-use discount codes made ahead of time, each handed to one session

The per-session cap lived in each process's memory without Redis, so two web workers could
each show a session its one notification. `sessions.notifications_shown` is raised with a
conditional UPDATE, which holds across processes on MariaDB and SQLite. Discount codes were
made by the writer through the Admin API while it waited; now a task fills `discount_codes`
ahead of time and a notification takes one row (`session_id` set once, unique).

Revision ID: 0016
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0016"
down_revision = "0013"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=3), "mariadb").with_variant(mysql.DATETIME(fsp=3), "mysql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notifications_shown", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "discount_codes",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("ends_at", TIMESTAMP, nullable=False),
        sa.Column("session_id", sa.BigInteger(), nullable=True),
        sa.Column("handed_out_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_discount_codes_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_codes")),
        sa.UniqueConstraint("shop_id", "code", name=op.f("uq_discount_codes_shop_id_code")),
        sa.UniqueConstraint("session_id", name=op.f("uq_discount_codes_session_id")),
    )
    op.create_index(
        "ix_discount_codes_shop_id_percent_session_id",
        "discount_codes",
        ["shop_id", "percent", "session_id"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_discount_codes_shop_id_percent_session_id", table_name="discount_codes")
    op.drop_table("discount_codes")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("notifications_shown")
