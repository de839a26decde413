"""Read-replica routing: analytics reads go to `DATABASE_REPLICA_URL` when one is set."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from shopify_app.core.extensions import db


def read_session() -> Session:
    """A session for read-only queries: on the replica when configured, else the primary."""
    if "replica" not in current_app.config.get("SQLALCHEMY_BINDS", {}):
        return db.session  # type: ignore[return-value]  # scoped_session proxies a Session
    if "replica_session" not in g:
        g.replica_session = Session(bind=db.engines["replica"])
    session: Session = g.replica_session
    return session


def init_app(app: Flask) -> None:
    """Close the replica session at the end of each app context."""

    @app.teardown_appcontext
    def _close_replica(_exc: BaseException | None) -> None:
        session = g.pop("replica_session", None)
        if session is not None:
            session.close()
