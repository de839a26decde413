"""Column types shared by every package's models, so MySQL and SQLite store the same values."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, DateTime, Integer, Numeric
from sqlalchemy.dialects import mysql, sqlite

# Millisecond timestamps, naive UTC (MySQL DATETIME has no zone; we never store local time).
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=3), "mysql", "mariadb")
# SQLite only auto-increments INTEGER PRIMARY KEY, so big ids are plain integers there.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Money = Numeric(14, 2)
JsonDict = JSON().with_variant(sqlite.JSON(), "sqlite")


def utcnow() -> datetime:
    """Now, as the naive UTC datetime the database stores."""
    return datetime.now(UTC).replace(tzinfo=None)
