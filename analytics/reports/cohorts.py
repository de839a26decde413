"""Retention cohorts: visitors grouped by the week of their first visit, and how many come back.

A visitor's cohort is the week (Monday) of their first-ever session (`is_new_visitor`) when it
falls in the period; week n counts the cohort's visitors with any session n weeks later.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from analytics.models import VisitSession
from analytics.reports.period import Period, ratio
from analytics.reports.sql import reader

WEEKS = 8


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def retention_cohorts(shop_id: int, period: Period, *, weeks: int = WEEKS) -> dict[str, Any]:
    """Weekly cohorts of new visitors in the period, with the share returning each week after."""
    session = reader()
    first_day = func.min(VisitSession.day)
    cohort_of: dict[int, date] = {
        visitor_id: _week(day)
        for visitor_id, day in session.execute(
            select(VisitSession.visitor_id, first_day)
            .where(
                VisitSession.shop_id == shop_id,
                VisitSession.is_new_visitor.is_(True),
                VisitSession.day.between(period.start, period.end),
            )
            .group_by(VisitSession.visitor_id)
        )
    }
    horizon = _week(period.end) + timedelta(weeks=weeks)
    active: dict[date, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    if cohort_of:
        new_visitors = (
            select(VisitSession.visitor_id)
            .where(
                VisitSession.shop_id == shop_id,
                VisitSession.is_new_visitor.is_(True),
                VisitSession.day.between(period.start, period.end),
            )
            .scalar_subquery()
        )
        rows = session.execute(
            select(VisitSession.visitor_id, VisitSession.day)
            .where(
                VisitSession.shop_id == shop_id,
                VisitSession.day >= _week(period.start),
                VisitSession.day < horizon,
                VisitSession.visitor_id.in_(new_visitors),
            )
            .group_by(VisitSession.visitor_id, VisitSession.day)
        )
        for visitor_id, day in rows:
            cohort = cohort_of.get(visitor_id)
            if cohort is None:
                continue
            offset = (_week(day) - cohort).days // 7
            if 0 <= offset <= weeks:
                active[cohort][offset].add(visitor_id)
    sizes: dict[date, int] = defaultdict(int)
    for cohort in cohort_of.values():
        sizes[cohort] += 1
    return {
        "weeks": weeks,
        "cohorts": [
            {
                "cohort": cohort.isoformat(),
                "visitors": size,
                "retention": [
                    {
                        "week": offset,
                        "visitors": len(active[cohort][offset]),
                        "rate": ratio(len(active[cohort][offset]), size),
                    }
                    for offset in range(weeks + 1)
                ],
            }
            for cohort, size in sorted(sizes.items())
        ],
    }
