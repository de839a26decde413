"""The date range a report covers: inclusive local days of the shop, and the period before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shopify_app.core.errors import BadRequest
from shopify_app.core.models import Shop

INTERVALS = ("day", "week", "month")
MAX_DAYS = 3 * 366
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Period:
    """Inclusive local days `start`..`end` of a shop whose clock is `timezone`."""

    start: date
    end: date
    timezone: str = "UTC"
    interval: str | None = None

    @property
    def days(self) -> int:
        """How many days the period spans."""
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one (for comparisons)."""
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end, self.timezone, self.interval)

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """Naive UTC [from, to) instants covering the local days, as the database stores them."""
        zone = shop_zone(self.timezone)
        first = datetime.combine(self.start, time.min, tzinfo=zone)
        after = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone)
        return _naive_utc(first), _naive_utc(after)

    def bucket(self, day: date) -> date:
        """The first day of the series bucket `day` falls in."""
        if self.interval == "week":
            return day - timedelta(days=day.weekday())
        if self.interval == "month":
            return day.replace(day=1)
        return day

    def buckets(self) -> list[date]:
        """Every bucket of the period in order (so empty ones show as zero)."""
        seen: list[date] = []
        day = self.start
        while day <= self.end:
            key = self.bucket(day)
            if not seen or seen[-1] != key:
                seen.append(key)
            day += timedelta(days=1)
        return seen


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def shop_zone(name: str | None) -> ZoneInfo:
    """The shop's time zone, UTC when unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def shop_today(shop: Shop) -> date:
    """Today in the shop's own time zone."""
    return datetime.now(shop_zone(shop.timezone)).date()


def _parse_day(value: str | None, field: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{field} must be a date as YYYY-MM-DD", field=field) from None


def parse_period(args: dict[str, str] | object, shop: Shop) -> Period:
    """Read `start`, `end` and `interval` from query args; defaults to the last 30 days."""
    get = getattr(args, "get")  # noqa: B009 - request.args or a plain dict
    end = _parse_day(get("end"), "end")
    start = _parse_day(get("start"), "start")
    interval = get("interval") or None
    if interval is not None and interval not in INTERVALS:
        raise BadRequest("interval must be one of day, week, month", field="interval")
    if end is None:
        end = shop_today(shop) if start is None else start + timedelta(days=DEFAULT_DAYS - 1)
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise BadRequest("end must not be before start", field="end")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadRequest(f"a report covers at most {MAX_DAYS} days", field="start")
    return Period(start, end, shop.timezone or "UTC", interval)


def ratio(part: float, whole: float) -> float:
    """part / whole rounded to 4 places, 0 when there is nothing to divide by."""
    return round(part / whole, 4) if whole else 0.0


def change(current: float, previous: float) -> float | None:
    """Relative change from the previous period, None when it had nothing."""
    return round((current - previous) / previous, 4) if previous else None
