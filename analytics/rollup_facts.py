"""What one session, visitor or product viewer adds to the day rollups (pure Python, no database).

The writer keeps the rollups incrementally as `facts(after) - facts(before)` for every session and
visitor a batch touches; reconciliation rebuilds a day as the sum of the facts of the raw rows.
Both go through these functions, so the two can only disagree when the data did.

A `Tally` maps a rollup name to rows: key tuple -> {column: number}. Keys:

- sessions (day,); devices (day, device); referrers (day, host); campaigns (day, source, medium, campaign)
- pages (day, url, since); visitors (day, since); product_viewers (day, product_id, since)
- retention (cohort_day, week)

`since` is the entity's previous day of activity (NEVER when none): distinct entities of a range
[a, b] are the rows of its days whose `since` is before a, so distinct counts add up over days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from analytics.models import NEVER
from analytics.writer.sessions import PAGE_TYPES

FUNNEL_TYPES = ("product_view", "add_to_cart", "checkout_started", "purchase")
FUNNEL_COLUMNS = ("reached_product_view", "reached_cart", "reached_checkout", "reached_purchase")
WITH_COLUMNS = ("with_product_view", "with_cart", "with_checkout", "with_purchase")
MAX_WEEKS = 52

Tally = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


def new_tally() -> Tally:
    """An empty tally."""
    return defaultdict(lambda: defaultdict(lambda: defaultdict(int)))  # type: ignore[return-value]


def add(tally: Tally, rollup: str, key: tuple[Any, ...], sign: int = 1, **values: Any) -> None:
    """Add `values` (times `sign`) to the row `key` of `rollup`."""
    row = tally[rollup][key]
    for column, value in values.items():
        row[column] = row[column] + sign * value


def difference(after: Tally, before: Tally) -> Tally:
    """after - before, without rows whose every column is unchanged (sharing `after`'s rows).

    Runs once per batch over every row the batch touches (most of them new, with nothing before)."""
    result = new_tally()
    for rollup in after.keys() | before.keys():
        new_rows, old_rows = after.get(rollup, {}), before.get(rollup, {})
        changed: dict[tuple[Any, ...], dict[str, Any]] = {}
        for key, new in new_rows.items():
            old = old_rows.get(key)
            if not old:  # the usual row: new with this batch, taken as it is (a tally's rows answer 0)
                if any(new.values()):
                    changed[key] = new
                continue
            delta = {column: new.get(column, 0) - old.get(column, 0) for column in new.keys() | old.keys()}
            if any(delta.values()):
                changed[key] = defaultdict(int, delta)
        for key, old in old_rows.items():
            if key not in new_rows and any(old.values()):
                changed[key] = defaultdict(int, {column: -value for column, value in old.items()})
        if changed:
            result[rollup].update(changed)
    return result


def nonzero(tally: Tally) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """The tally as plain dicts, rows whose every column is zero dropped (for comparisons)."""
    return {
        rollup: {key: dict(row) for key, row in rows.items() if any(row.values())}
        for rollup, rows in tally.items()
        if any(any(row.values()) for row in rows.values())
    }


def local_day(when: datetime, zone: ZoneInfo) -> date:
    """The calendar day `when` (naive UTC) falls on in `zone`."""
    return when.replace(tzinfo=UTC).astimezone(zone).date()


def referrer_host(referrer: str | None) -> str:
    """The referring site's host without `www.`, or 'direct'."""
    host = urlsplit(referrer or "").hostname or ""
    host = host.removeprefix("www.")
    return (host or "direct")[:255]


def reach(days: Iterable[date]) -> list[tuple[date, date]]:
    """(day, previous day or NEVER) for each distinct day, in order."""
    ordered = sorted(set(days))
    return list(zip(ordered, [NEVER, *ordered[:-1]], strict=True))


def funnel_depth(events: Sequence[tuple[str, datetime]], steps: Sequence[str]) -> int:
    """How many of `steps` the events reach in order (a step at or after the previous one,
    strictly after when both are the same event type)."""
    return funnel_progress(events, steps)[0]


def funnel_progress(
    events: Sequence[tuple[str, datetime]],
    steps: Sequence[str],
    start: tuple[int, datetime | None] = (0, None),
) -> tuple[int, datetime | None]:
    """(steps reached, when the last reached step happened), going on from `start`.

    Going on from a session's stored progress with events all later than its stored ones gives
    the same answer as `funnel_depth` over all of them: a stored event later than the reached
    step would have reached the next step already."""
    times: dict[str, list[datetime]] = defaultdict(list)
    for kind, when in events:
        times[kind].append(when)
    depth, reached = start
    for index in range(depth, len(steps)):
        step = steps[index]
        strict = index > 0 and steps[index - 1] == step
        later = [
            t for t in times.get(step, ()) if reached is None or (t > reached if strict else t >= reached)
        ]
        if not later:
            return index, reached
        reached = min(later)
    return len(steps), reached


@dataclass
class SessionFacts:
    """What the rollups need to know of one session (its fixed landing attributes and events)."""

    day: date
    device: str | None
    referrer: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    revenue: Decimal
    events: list[tuple[str, datetime, str | None]] = field(default_factory=list)


@dataclass
class SessionCounts:
    """What a session's events add up to for the per-session rollups (the page rollup aside):
    the writer keeps these on the session row instead of reading its events back."""

    page_views: int = 0
    product_views: int = 0
    carts: int = 0
    checkouts: int = 0
    purchases: int = 0
    duration_ms: int = 0
    funnel_step: int = 0


def count_session(events: Sequence[tuple[str, datetime, str | None]]) -> SessionCounts:
    """A session's counts from its events."""
    kinds: dict[str, int] = defaultdict(int)
    for kind, _, _ in events:
        kinds[kind] += 1
    moments = [when for _, when, _ in events]
    return SessionCounts(
        page_views=sum(n for kind, n in kinds.items() if kind in PAGE_TYPES),
        product_views=kinds["product_view"],
        carts=kinds["add_to_cart"],
        checkouts=kinds["checkout_started"],
        purchases=kinds["purchase"],
        duration_ms=(max(moments) - min(moments)) // timedelta(milliseconds=1) if moments else 0,
        funnel_step=funnel_depth([(kind, when) for kind, when, _ in events], FUNNEL_TYPES),
    )


def add_session(tally: Tally, session: SessionFacts, zone: ZoneInfo, sign: int = 1) -> None:
    """Add one session to the per-session-day rollups and its page views to the page rollup."""
    add_session_counts(tally, session, count_session(session.events), sign)
    for url, views in page_views(session.events, zone).items():
        for page_day, since in reach(views):
            add(tally, "pages", (page_day, url, since), sign, views=views[page_day], sessions=1)


def add_session_counts(tally: Tally, session: SessionFacts, counts: SessionCounts, sign: int = 1) -> None:
    """Add one session to the session, device, referrer and campaign rollups of its day."""
    bought = counts.purchases > 0
    bounced = (
        counts.page_views <= 1
        and counts.product_views <= 1
        and not counts.carts
        and not counts.checkouts
        and not bought
    )
    reached = (counts.product_views, counts.carts, counts.checkouts, counts.purchases)
    day = session.day
    add(
        tally,
        "sessions",
        (day,),
        sign,
        sessions=1,
        bounces=int(bounced),
        duration_ms=counts.duration_ms,
        revenue=session.revenue,
        **{column: int(n > 0) for column, n in zip(WITH_COLUMNS, reached, strict=True)},
        **{column: int(counts.funnel_step > index) for index, column in enumerate(FUNNEL_COLUMNS)},
    )
    money = {"sessions": 1, "purchasing_sessions": int(bought), "revenue": session.revenue}
    add(tally, "devices", (day, session.device or "unknown"), sign, **money)
    add(tally, "referrers", (day, referrer_host(session.referrer)), sign, sessions=1)
    if session.utm_source is not None:
        key = (day, session.utm_source, session.utm_medium, session.utm_campaign)
        add(tally, "campaigns", key, sign, **money)


def page_views(
    events: Iterable[tuple[str, datetime, str | None]], zone: ZoneInfo
) -> dict[str, dict[date, int]]:
    """URL -> day -> page views, of a session's events."""
    pages: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for kind, when, url in events:
        if kind == "page_view" and url is not None:
            pages[url][local_day(when, zone)] += 1
    return pages


def last_page_days(pages: dict[str, dict[date, int]]) -> dict[str, tuple[date, date]]:
    """URL -> (last day the session viewed it, the day before that or NEVER)."""
    return {url: reach(views)[-1] for url, views in pages.items()}


def add_later_page_views(
    tally: Tally, url: str, views: dict[date, int], last: tuple[date, date] | None
) -> tuple[date, date]:
    """Add a session's new views of `url`, all on or after `last` (its stored last day and the
    day before, None when the session never viewed it), to the page rollup; the new last days.

    Rows of earlier days cannot change: only the last day's views grow, or new days start."""
    seen = last is not None
    day, since = last if last is not None else (NEVER, NEVER)
    for page_day in sorted(views):
        if seen and page_day == day:
            add(tally, "pages", (page_day, url, since), views=views[page_day])
            continue
        day, since, seen = page_day, day, True
        add(tally, "pages", (page_day, url, since), views=views[page_day], sessions=1)
    return day, since


def add_visitor(tally: Tally, days: Iterable[date], cohort_day: date | None, sign: int = 1) -> None:
    """Add one visitor's session days to the visitor reach and, for a new visitor, to retention."""
    days = set(days)
    for day, since in reach(days):
        add(tally, "visitors", (day, since), sign, visitors=1)
    if cohort_day is None:
        return
    cohort_week = cohort_day - timedelta(days=cohort_day.weekday())
    weeks = {(day - timedelta(days=day.weekday()) - cohort_week).days // 7 for day in days}
    for week in sorted(weeks):
        if 0 <= week <= MAX_WEEKS:
            add(tally, "retention", (cohort_day, week), sign, visitors=1)


def add_product_viewer(tally: Tally, product_id: int, days: Iterable[date], sign: int = 1) -> None:
    """Add one visitor's days of viewing one product to the product viewers rollup."""
    for day, since in reach(days):
        add(tally, "product_viewers", (day, product_id, since), sign, visitors=1)
