"""The app's root: Shopify admin opening the app lands here (`application_url`), a person sees what a
local run serves."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, redirect, render_template_string, request

bp = Blueprint("start", __name__)

START_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Clickstream</title>
<style>
 body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,sans-serif;margin:40px auto;max-width:720px;color:#202223;background:#f6f6f7}
 .card{background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.15);padding:24px 28px;margin-bottom:16px}
 h1{font-size:22px;margin:0 0 4px} p{color:#6d7175} a{color:#005bd3;text-decoration:none} li{margin:8px 0}
 code{background:#f1f1f1;padding:2px 5px;border-radius:4px}
</style></head><body>
<div class="card"><h1>Clickstream is running</h1>
<p>Clickstream analytics, recommendations and conversion notifications for Shopify stores.
This local run serves the demo shop <code>{{ demo_shop }}</code>.</p></div>
<div class="card"><ul>
{% for link in links %}<li><a href="{{ link.href }}">{{ link.title }}</a> — {{ link.text }}</li>{% endfor %}
</ul></div></body></html>"""

LINKS = [
    {
        "href": "/admin/?shop={shop}",
        "title": "Merchant admin",
        "text": "dashboards, funnels, products, segments, settings (standalone mode)",
    },
    {
        "href": "/demo/store/",
        "title": "Demo storefront",
        "text": "a storefront with the real app embed block: browse to generate events",
    },
    {"href": "/healthz", "title": "Health", "text": "database, Redis and the ingest backlog"},
    {
        "href": "/openapi.json",
        "title": "API description",
        "text": "OpenAPI 3 document of the public HTTP API",
    },
    {"href": "/metrics", "title": "Metrics", "text": "Prometheus metrics"},
]

DEMO_SHOP = "demo-shop.myshopify.com"


@bp.get("/")
def start_page() -> str | Response:
    """Shopify admin's launch of the app goes on to the embedded app; anyone else sees the links."""
    if request.args.get("shop"):
        # application_url is the app's root so that the relative webhook and app proxy URLs in
        # shopify.app.toml resolve against it: the admin's launch query carries on unchanged.
        return redirect("/admin/app?" + request.query_string.decode())  # type: ignore[return-value]
    links = [{**link, "href": link["href"].format(shop=DEMO_SHOP)} for link in LINKS]
    return render_template_string(
        START_PAGE, links=links, demo_shop=DEMO_SHOP, app_url=current_app.config["SHOPIFY_APP_URL"]
    )


def init_app(app: Flask) -> None:
    """Register the start page."""
    app.register_blueprint(bp)
