"""The writer: stores checked batches; runs as `clickstream worker`'s `writer` process with Redis."""

from __future__ import annotations

from flask import Flask, current_app
from sqlalchemy import func, select

from shopify_app.core.extensions import db, get_redis
from shopify_app.core.hooks import register_health_probe, register_worker_process


def pending_events() -> int:
    """Events accepted by the collector and not yet stored (0 in embedded mode): on the stream, and
    in this machine's collector spools on their way to it."""
    from analytics.ingest import spool, stream

    client = get_redis()
    if client is None:
        return 0
    spool_dir = current_app.config.get("INGEST_SPOOL_DIR")
    spooled = spool.unshipped_events(spool_dir, current_app.config["REDIS_URL"]) if spool_dir else 0
    return stream.backlog(client) + spooled


def live_writers() -> int:
    """Writer processes alive now (beating in Redis): 0 while events wait means none is running."""
    from analytics.ingest import stream

    client = get_redis()
    return stream.live_writers(client) if client is not None else 0


def dead_letters() -> int:
    """Batches the writer could not store and moved aside."""
    from analytics.models import DeadLetter

    return int(db.session.execute(select(func.count()).select_from(DeadLetter)).scalar() or 0)


def init_app(app: Flask) -> None:
    """Register the writer process and its health probes."""
    from analytics.writer.consumer import writer_process

    register_health_probe(app, "pending_events", pending_events)
    register_health_probe(app, "dead_letters", dead_letters)
    if app.config.get("REDIS_URL"):
        register_health_probe(app, "writers", live_writers)
        register_worker_process(app, "writer", writer_process(app))
