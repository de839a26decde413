"""Events without foreign keys: the table that takes a row per shopper action no longer checks
its shop, visitor, session and customer on every insert

Each foreign key cost the writer a lookup (and a shared lock) in the parent table per stored
event, and on MariaDB the visitor and customer keys had an index of their own. The writer
already has those rows locked when it stores their events; deleting a shop, a customer or
expired events removes or detaches the events explicitly (`analytics.privacy`,
`analytics.retention`).

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

FOREIGN_KEYS = {
    "fk_events_shop_id_shops": ("shop_id", "shops", "CASCADE"),
    "fk_events_visitor_id_visitors": ("visitor_id", "visitors", "CASCADE"),
    "fk_events_session_id_sessions": ("session_id", "sessions", "CASCADE"),
    "fk_events_customer_id_customers": ("customer_id", "customers", "SET NULL"),
}
# The indexes MariaDB made for the two keys no other index starts with.
IMPLIED_INDEXES = ("fk_events_customer_id_customers", "fk_events_visitor_id_visitors")


def _mariadb() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        for name in FOREIGN_KEYS:
            batch_op.drop_constraint(name, type_="foreignkey")
    if _mariadb():
        for name in IMPLIED_INDEXES:
            op.drop_index(name, table_name="events")


def downgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        for name, (column, parent, on_delete) in FOREIGN_KEYS.items():
            batch_op.create_foreign_key(name, parent, [column], ["id"], ondelete=on_delete)
