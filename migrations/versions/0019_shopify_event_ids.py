"""Shopify's web pixel event ids fit: `events.event_id` widens from 36 to 64 characters

The web pixel sends Shopify's own event ids (`sh-0259a238-2A20-436E-D1AC-731D262C99FD`, 39
characters), which did not fit a UUID's 36. `events` is the only table keyed by an event id. On
MariaDB the column keeps its collation (a widening changes no stored row or unique key); SQLite
rebuilds the table through Alembic's batch mode.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.alter_column(
            "event_id", existing_type=sa.String(length=36), type_=sa.String(length=64), existing_nullable=False
        )


def downgrade():
    # Shopify's longer ids do not fit back; their events are the pixel's, kept rather than dropped.
    longer = op.get_bind().exec_driver_sql("SELECT COUNT(*) FROM events WHERE LENGTH(event_id) > 36").scalar()
    if longer:
        raise RuntimeError(f"{longer} events have ids longer than 36 characters (the web pixel's)")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.alter_column(
            "event_id", existing_type=sa.String(length=64), type_=sa.String(length=36), existing_nullable=False
        )
