"""Dead letters that can always be written and found by shop; visitor keys compared byte for byte

`dead_letters` gets `shop_id` (indexed, no foreign key: a dead letter must be writable for any
stream entry, and deleting a shop empties every table with a `shop_id`; filled in for stored
letters whose shop domain is still installed), `error_code`, an index on `stream_id`, and its
payload becomes MEDIUMTEXT on MariaDB: a failing 60-event batch over 64 KB did not fit TEXT
(error 1406), so its dead letter could not be written and the writer stalled on it. The writer
also truncates payloads (`analytics.dead_letters`).

`visitors.visitor_key` takes a binary collation without padding on MariaDB (`utf8mb4_nopad_bin`;
MySQL 8's `utf8mb4_0900_bin`): under the database's `utf8mb4_unicode_ci` keys differing only in
case, accents or trailing spaces were one row to the unique key and two visitors to the writer,
and their batches ended in dead letters. Binary is finer than the old collation, so the unique
key holds for every stored row. SQLite compares text byte for byte already.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _mysql() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def _binary_collation() -> str:
    version = str(op.get_bind().exec_driver_sql("SELECT VERSION()").scalar())
    return "utf8mb4_nopad_bin" if "mariadb" in version.lower() else "utf8mb4_0900_bin"


def upgrade():
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shop_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("error_code", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_dead_letters_shop_id"), ["shop_id"], unique=False)
        # the writer looks for an entry's dead letter before writing one (a re-read after a crash)
        batch_op.create_index(batch_op.f("ix_dead_letters_stream_id"), ["stream_id"], unique=False)
    # Letters written before: their shop by domain, where the shop is still installed.
    op.execute(
        "UPDATE dead_letters SET shop_id = (SELECT shops.id FROM shops WHERE shops.domain = dead_letters.shop_domain)"
        " WHERE shop_id IS NULL"
    )
    if _mysql():
        op.alter_column(
            "dead_letters", "payload", existing_type=sa.Text(), type_=mysql.MEDIUMTEXT(), existing_nullable=False
        )
        op.execute(
            "ALTER TABLE visitors MODIFY visitor_key VARCHAR(64) "
            f"CHARACTER SET utf8mb4 COLLATE {_binary_collation()} NOT NULL"
        )


def downgrade():
    if _mysql():
        # Keys that differ only in case, accents or padding would collide under the old collation.
        op.execute("ALTER TABLE visitors MODIFY visitor_key VARCHAR(64) NOT NULL")
        op.alter_column(
            "dead_letters", "payload", existing_type=mysql.MEDIUMTEXT(), type_=sa.Text(), existing_nullable=False
        )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_stream_id"))
        batch_op.drop_index(batch_op.f("ix_dead_letters_shop_id"))
        batch_op.drop_column("error_code")
        batch_op.drop_column("shop_id")
