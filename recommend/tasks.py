"""Celery tasks of recommend: feeding the session trails the widgets learn from."""

from __future__ import annotations

from celery import shared_task
from sqlalchemy.exc import IntegrityError

from shopify_app.core.extensions import db


@shared_task(name="recommend.feed_sessions", ignore_result=True, acks_late=True)
def feed_sessions_task(shop_id: int, session_ids: list[int]) -> int:
    """Upsert the product trails of sessions the writer just stored, and the widget exposures
    the tracker reported in them (for the experiment results)."""
    from recommend.feed import feed_sessions
    from recommend.service import record_widget_exposures

    fed = feed_sessions(shop_id, session_ids)
    db.session.commit()
    for attempt in range(2):
        try:
            record_widget_exposures(shop_id, session_ids)
            db.session.commit()
            break
        except IntegrityError:  # another worker made the shop's experiment row first: use theirs
            db.session.rollback()
            if attempt:
                raise
    return fed


def on_sessions_updated(shop_id: int, session_ids: list[int]) -> None:
    """The writer's `sessions_updated` hook: hand the sessions to a worker (in process when embedded)."""
    feed_sessions_task.delay(shop_id, list(session_ids))
