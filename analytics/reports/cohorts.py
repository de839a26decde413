"""Retention cohorts: visitors grouped by the week of their first visit, and how many come back.

A visitor's cohort is the week (Monday) of their first-ever session (`is_new_visitor`) when it
falls in the period; week n counts the cohort's visitors with any session n weeks later (within
the weeks after the period's last week). Read from the retention rollup (cohort day, week).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from analytics.models import RetentionCell
from analytics.reports.period import Period, ratio
from analytics.reports.sql import reader
from analytics.rollup_facts import MAX_WEEKS

WEEKS = 8


def _week(day: date) -> date:
    return day - timedelta(days=day.weekday())


def retention_cohorts(shop_id: int, period: Period, *, weeks: int = WEEKS) -> dict[str, Any]:
    """Weekly cohorts of new visitors in the period, with the share returning each week after."""
    weeks = min(weeks, MAX_WEEKS)
    horizon = _week(period.end) + timedelta(weeks=weeks)
    sizes: dict[date, int] = defaultdict(int)
    active: dict[date, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    rows = reader().execute(
        select(RetentionCell.cohort_day, RetentionCell.week, RetentionCell.visitors).where(
            RetentionCell.shop_id == shop_id,
            RetentionCell.cohort_day.between(period.start, period.end),
            RetentionCell.week <= weeks,
        )
    )
    for cohort_day, week, visitors in rows:
        cohort = _week(cohort_day)
        if week == 0:
            sizes[cohort] += int(visitors)
        if cohort + timedelta(weeks=week) < horizon:
            active[cohort][week] += int(visitors)
    return {
        "weeks": weeks,
        "cohorts": [
            {
                "cohort": cohort.isoformat(),
                "visitors": size,
                "retention": [
                    {
                        "week": offset,
                        "visitors": active[cohort][offset],
                        "rate": ratio(active[cohort][offset], size),
                    }
                    for offset in range(weeks + 1)
                ],
            }
            for cohort, size in sorted(sizes.items())
            if size
        ],
    }
