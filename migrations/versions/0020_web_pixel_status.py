"""The shop's web pixel as Shopify last answered: connected, not connected or an error with its
message, the pixel's id and the settings it was connected with

The app connects the pixel itself on install (`webPixelCreate`, `webPixelUpdate` when its
settings change), so the merchant types nothing; admin shows the state kept here.

Revision ID: 0020
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=3), "mariadb").with_variant(mysql.DATETIME(fsp=3), "mysql")


def upgrade():
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("web_pixel_status", sa.String(length=16), nullable=False, server_default="not_connected")
        )
        batch_op.add_column(sa.Column("web_pixel_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("web_pixel_settings", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("web_pixel_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("web_pixel_checked_at", TIMESTAMP, nullable=True))


def downgrade():
    with op.batch_alter_table("shops", schema=None) as batch_op:
        for column in (
            "web_pixel_checked_at",
            "web_pixel_error",
            "web_pixel_settings",
            "web_pixel_id",
            "web_pixel_status",
        ):
            batch_op.drop_column(column)
