"""The embedded admin's pages: dashboard, products, segments, settings and installation status.

Pages are rendered on the server from the same report functions the JSON API answers with;
charts are drawn in the browser by Chart.js (built from npm into `assets/dist/`, served here).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, send_from_directory
from sqlalchemy import func, select

from analytics import reports
from analytics.models import Event
from analytics.reports.cache import cached, data_version
from analytics.reports.products import SORTS
from analytics.segment_models import Segment
from analytics.segments import customers
from analytics.segments.rules import RFM_GROUPS, RULE_TYPES
from analytics.views import int_arg, with_comparison
from recommend.settings import RecommendationSettings
from shopify_app.admin import settings as shop_settings
from shopify_app.admin.session import NeedsBounce, page_session
from shopify_app.core.extensions import db
from shopify_app.core.models import Product, Shop
from shopify_app.platform.web_pixel import web_pixel_state

ASSETS = Path(__file__).parent / "assets" / "dist"
bp = Blueprint("admin_pages", __name__, url_prefix="/admin", template_folder="templates")

NAV = (
    ("dashboard", "Dashboard", "/admin/"),
    ("products", "Products", "/admin/products"),
    ("segments", "Segments", "/admin/segments"),
    ("experiments", "Experiments", "/admin/experiments"),
    ("notifications", "Notifications", "/admin/notifications"),
    ("settings", "Settings", "/admin/settings"),
    ("status", "Installation", "/admin/status"),
)


def render_admin_page(template: str, active: str, shop: Shop, token: str, **context: Any) -> Response:
    """An admin page in the shared layout (nav, App Bridge, the token for the page's API calls)."""
    from shopify_app.platform.embedded import app_bridge_head, frame_ancestors

    html = render_template(
        template,
        nav=NAV,
        active=active,
        shop=shop,
        session_token=token,
        app_bridge=app_bridge_head() if request.args.get("host") else "",
        query=_carried_query(),
        **context,
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = frame_ancestors(shop.domain)
    response.headers["Cache-Control"] = "no-store"
    return response


def _carried_query() -> str:
    """shop/host carried from link to link (never the token)."""
    from urllib.parse import urlencode

    return urlencode({k: v for k, v in request.args.items() if k in ("shop", "host")})


@bp.errorhandler(NeedsBounce)
def _bounce(error: NeedsBounce) -> Response:
    return error.response


@bp.get("/")
def dashboard() -> Response:
    """KPIs with the change against the previous period; sessions over time, funnel, top products."""
    shop, token = page_session()
    period = reports.parse_period(request.args, shop)
    if period.interval is None:
        period = reports.Period(period.start, period.end, period.timezone, "day")
    version = data_version(shop.id, period)  # one look-up for the page's six reports
    sessions = with_comparison(reports.session_count, shop.id, period, version=version)
    users = with_comparison(reports.user_count, shop.id, period, version=version)
    conversion = with_comparison(reports.visit_conversion, shop.id, period, version=version)
    engagement = with_comparison(reports.engagement, shop.id, period, version=version)
    sales = with_comparison(reports.sales, shop.id, period, version=version)
    top = cached(
        ("top products",),
        shop.id,
        period,
        lambda: reports.product_visits(shop.id, period, per_page=10),
        version=version,
    )
    kpis = [
        _kpi("sessions", "Sessions", sessions, "sessions", "count"),
        _kpi("visitors", "Visitors", users, "visitors", "count"),
        _kpi("purchase_rate", "Conversion rate", conversion, "purchase_rate", "percent"),
        _kpi("orders", "Orders", sales, "orders", "count"),
        _kpi("revenue", "Total sales", engagement, "revenue", "money"),  # orders' total sales
        _kpi("average_order_value", "Avg. order value", sales, "average_order_value", "money"),
        _kpi("revenue_per_session", "Revenue per session", engagement, "revenue_per_session", "money"),
        _kpi("bounce_rate", "Bounce rate", engagement, "bounce_rate", "percent"),
        _kpi("average_session_seconds", "Avg. session", engagement, "average_session_seconds", "seconds"),
    ]
    charts = {
        "sessions": {
            "type": "line",
            "labels": [point["period"] for point in sessions["series"]],
            "values": [point["sessions"] for point in sessions["series"]],
            "label": "Sessions",
        },
        "funnel": {
            "type": "bar",
            "labels": [step["label"] for step in conversion["funnel"]],
            "values": [step["sessions"] for step in conversion["funnel"]],
            "label": "Sessions",
        },
        "products": {
            "type": "bar",
            "horizontal": True,
            "labels": [row["title"] or f"#{row['product_id']}" for row in top["products"]],
            "values": [row["views"] for row in top["products"]],
            "label": "Views",
        },
    }
    return render_admin_page(
        "admin/dashboard.html",
        "dashboard",
        shop,
        token,
        period=period,
        kpis=kpis,
        charts=charts,
        funnel=conversion["funnel"],
        top=top["products"],
    )


def _kpi(key: str, label: str, report: dict[str, Any], field: str, kind: str) -> dict[str, Any]:
    return {
        "key": key,
        "label": label,
        "value": report[field],
        "previous": report["previous"].get(field),
        "change": report["change"].get(field),
        "kind": kind,
    }


@bp.get("/products")
def products() -> Response:
    """Product analytics: a sortable, paginated table and the top products chart."""
    shop, token = page_session()
    period = reports.parse_period(request.args, shop)
    sort = request.args.get("sort", "views")
    if sort not in SORTS:
        sort = "views"
    descending = request.args.get("order", "desc") != "asc"
    page = int_arg("page", 1, minimum=1, maximum=1_000_000)
    table = cached(
        ("product table", sort, descending, page),
        shop.id,
        period,
        lambda: reports.product_visits(
            shop.id, period, sort=sort, descending=descending, page=page, per_page=25
        ),
    )
    chart = {
        "type": "bar",
        "horizontal": True,
        "labels": [row["title"] or f"#{row['product_id']}" for row in table["products"][:10]],
        "values": [row[sort] for row in table["products"][:10]],
        "label": sort.replace("_", " "),
    }
    return render_admin_page(
        "admin/products.html",
        "products",
        shop,
        token,
        period=period,
        table=table,
        sorts=SORTS,
        charts={"products": chart},
    )


@bp.get("/segments")
def segments() -> Response:
    """The segment builder, saved segments (size, export, sync) and identified customers."""
    shop, token = page_session()
    saved = db.session.scalars(select(Segment).where(Segment.shop_id == shop.id).order_by(Segment.name)).all()
    from analytics.segments.saved import segment_body, size_history

    rows = [{**segment_body(segment), "sizes": size_history(segment, 30)} for segment in saved]
    return render_admin_page(
        "admin/segments.html",
        "segments",
        shop,
        token,
        segments=rows,
        rule_types=RULE_TYPES,
        rfm_groups=RFM_GROUPS,
        users=customers.identified_users(shop.id, per_page=25),
        charts={},
    )


@bp.get("/settings")
def settings_page() -> Response:
    """Consent mode, data retention, session timeout and the recommendation widgets' rules."""
    shop, token = page_session()
    return render_admin_page(
        "admin/settings.html",
        "settings",
        shop,
        token,
        settings=shop_settings.current_settings(shop),
        consent_modes=shop_settings.CONSENT_MODES,
        recommendations=RecommendationSettings.of(shop).as_dict(),
        charts={},
    )


@bp.get("/status")
def status() -> Response:
    """Installation status: is tracking arriving (the app embed is on), catalog sync progress, and
    the last two weeks' reconciliation of orders and sales with Shopify."""
    shop, token = page_session()
    from analytics.sales_reconcile import drift_report

    today = reports.parse_period({}, shop).end
    recent = reports.Period(today - timedelta(days=13), today, shop.timezone or "UTC")
    return render_admin_page(
        "admin/status.html",
        "status",
        shop,
        token,
        status=installation_status(shop),
        reconciliation=drift_report(shop.id, recent),
        charts={},
    )


def installation_status(shop: Shop) -> dict[str, Any]:
    """What the merchant needs to know about the set-up."""
    last_event = db.session.scalar(select(func.max(Event.received_at)).where(Event.shop_id == shop.id))
    products = db.session.scalar(select(func.count()).select_from(Product).where(Product.shop_id == shop.id))
    return {
        "installed_at": shop.installed_at.isoformat() if shop.installed_at else None,
        "scopes": shop.scopes,
        "tracking_active": last_event is not None,
        "last_event_at": last_event.isoformat() if last_event else None,
        "catalog_sync_status": shop.catalog_sync_status,
        "catalog_sync_progress": shop.catalog_sync_progress,
        "catalog_sync_error": shop.catalog_sync_error,
        "catalog_synced_at": shop.catalog_synced_at.isoformat() if shop.catalog_synced_at else None,
        "products": int(products or 0),
        "web_pixel": web_pixel_state(shop),
        "theme_editor_url": f"https://{shop.domain}/admin/themes/current/editor?context=apps",
    }


@bp.get("/assets/<path:filename>")
def asset(filename: str) -> Response:
    """The built admin assets (Chart.js and our page script), from `assets/dist`."""
    if not (ASSETS / filename).is_file():
        abort(404)
    response = send_from_directory(ASSETS, filename, max_age=3600)
    return response
