"""The analytics query layer: every report the merchant sees, read from rollups and sessions."""

from __future__ import annotations

from analytics.reports.cohorts import retention_cohorts
from analytics.reports.conversion import custom_funnel, visit_conversion
from analytics.reports.period import Period, parse_period
from analytics.reports.products import product_visits, products_with_activity
from analytics.reports.sales import sales
from analytics.reports.traffic import devices, engagement, referrers, session_count, top_pages, user_count

__all__ = [
    "Period",
    "custom_funnel",
    "devices",
    "engagement",
    "parse_period",
    "product_visits",
    "products_with_activity",
    "referrers",
    "retention_cohorts",
    "sales",
    "session_count",
    "top_pages",
    "user_count",
    "visit_conversion",
]
