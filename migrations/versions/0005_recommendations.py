"""Recommendations: session trails and per-shop model/catalog versions

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=3), "mariadb").with_variant(mysql.DATETIME(fsp=3), "mysql")


def upgrade():
    op.create_table(
        "rec_sessions",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("viewed", sa.Text(), nullable=False),
        sa.Column("carted", sa.Text(), nullable=False),
        sa.Column("bought", sa.Text(), nullable=False),
        sa.Column("last_event_at", TIMESTAMP, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_rec_sessions_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", "session_id", name=op.f("pk_rec_sessions")),
    )
    with op.batch_alter_table("rec_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_rec_sessions_shop_id_version", ["shop_id", "version"], unique=False)

    op.create_table(
        "rec_shop_state",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.BigInteger(), nullable=False),
        sa.Column("catalog_version", sa.BigInteger(), nullable=False),
        sa.Column("rebuilt_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_rec_shop_state_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("shop_id", name=op.f("pk_rec_shop_state")),
    )


def downgrade():
    op.drop_table("rec_shop_state")
    with op.batch_alter_table("rec_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_rec_sessions_shop_id_version")
    op.drop_table("rec_sessions")
