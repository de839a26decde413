"""Sessionization: which session each event belongs to (pure Python, no database).

A session is one visitor's events with gaps under the shop's timeout (30 minutes by default,
GA4's rule); an event carrying a campaign different from its session's starts a new session.
An event arriving late (an offline outbox) joins the session whose span it falls into.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

# Event types that are a page load: they count as page views (bounce = one of them and nothing else).
PAGE_TYPES = frozenset({"page_view", "product_view", "collection_view", "search"})


@dataclass
class SessionState:
    """A session as the writer sees it while placing a batch's events."""

    visitor_id: int
    started_at: datetime
    last_event_at: datetime
    day: date
    id: int | None = None
    customer_id: int | None = None
    landing_url: str | None = None
    referrer: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    device: str | None = None
    is_new_visitor: bool = False
    event_count: int = 0
    page_views: int = 0
    product_views: int = 0
    carts: int = 0
    checkouts: int = 0
    purchases: int = 0
    revenue: Decimal = field(default_factory=lambda: Decimal("0"))
    # Rollup state kept on the row (`analytics.writer.rollups`): funnel steps reached and when
    # the last was; URL -> (last day viewed, the day before). funnel_step None: not kept yet.
    funnel_step: int | None = None
    funnel_at: datetime | None = None
    page_days: dict[str, tuple[date, date]] = field(default_factory=dict)
    opened: bool = False
    # A stored session as it was read, before this batch's events changed it.
    before: SessionState | None = None

    def count(self, event_type: str, value: Decimal) -> None:
        """Add one event of `event_type` (and a purchase's value) to the counters."""
        self.event_count += 1
        self.page_views += event_type in PAGE_TYPES
        self.product_views += event_type == "product_view"
        self.carts += event_type == "add_to_cart"
        self.checkouts += event_type == "checkout_started"
        if event_type == "purchase":
            self.purchases += 1
            self.revenue += value


def pick_session(
    sessions: list[SessionState], when: datetime, campaign: str | None, timeout: timedelta
) -> SessionState | None:
    """The session `when` continues (gap under `timeout`), or None when a new one must start."""
    best: SessionState | None = None
    best_gap = timeout
    for session in sessions:
        if when >= session.last_event_at:
            gap = when - session.last_event_at
        elif when <= session.started_at:
            gap = session.started_at - when
        else:
            gap = timedelta(0)
        if gap < best_gap:
            best, best_gap = session, gap
    if best is None:
        return None
    new_campaign = campaign is not None and campaign != best.utm_campaign
    if new_campaign and when >= best.last_event_at:
        return None
    return best


def open_session(visitor_id: int, event: dict[str, Any], when: datetime, day: date) -> SessionState:
    """A new session whose first event is `event`."""
    return SessionState(
        visitor_id=visitor_id,
        started_at=when,
        last_event_at=when,
        day=day,
        landing_url=event.get("url"),
        referrer=event.get("referrer"),
        utm_source=event.get("utm_source"),
        utm_medium=event.get("utm_medium"),
        utm_campaign=event.get("utm_campaign"),
        opened=True,
    )


def extend(session: SessionState, when: datetime) -> None:
    """Stretch the session's span to cover `when`."""
    session.started_at = min(session.started_at, when)
    session.last_event_at = max(session.last_event_at, when)
