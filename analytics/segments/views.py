"""The segments JSON API: identified customers, saved segments, CSV export and tag sync."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from analytics.segments import customers, saved
from analytics.segments.rules import describe_rule, select_customers, validate_rule
from shopify_app.core.auth import admin_api, current_shop
from shopify_app.core.errors import BadRequest
from shopify_app.core.types import utcnow

bp = Blueprint("segments", __name__, url_prefix="/segments")


def _int_arg(name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number", field=name) from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}", field=name)
    return value


@bp.get("/identified-users-list")
@admin_api
def identified_users_list() -> Response:
    """Identified customers with sessions, last seen, views, carts, orders and revenue."""
    page = _int_arg("page", 1, 1, 1_000_000) or 1
    per_page = _int_arg("per_page", 50, 1, 500) or 50
    return jsonify(customers.identified_users(current_shop().id, page=page, per_page=per_page))


@bp.get("/identified-users-sessions")
@admin_api
def identified_users_sessions() -> Response:
    """Identified customers' latest sessions with their events (one customer with `customer_id`)."""
    customer_id = _int_arg("customer_id", None, 1, 2**63 - 1)
    limit = _int_arg("limit", 20, 1, 200) or 20
    return jsonify(customers.identified_user_sessions(current_shop().id, customer_id, limit=limit))


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object", field="body")
    return body


@bp.post("/preview")
@admin_api
def preview() -> Response:
    """How many customers a rule selects right now (the builder's live count)."""
    rule = validate_rule(_json_body().get("rule"))
    size = len(select_customers(current_shop().id, rule, utcnow()))
    return jsonify({"rule": rule, "description": describe_rule(rule), "size": size})


@bp.get("/")
@admin_api
def list_segments() -> Response:
    """The shop's saved segments."""
    from sqlalchemy import select

    from analytics.segment_models import Segment
    from shopify_app.core.extensions import db

    rows = db.session.scalars(
        select(Segment).where(Segment.shop_id == current_shop().id).order_by(Segment.name)
    )
    return jsonify({"segments": [saved.segment_body(segment) for segment in rows]})


@bp.post("/")
@admin_api
def create() -> tuple[Response, int]:
    """Save a segment (name, rule, optional customer_tag) and compute its members."""
    body = _json_body()
    segment = saved.create_segment(
        current_shop().id, body.get("name"), body.get("rule"), body.get("customer_tag")
    )
    return jsonify(saved.segment_body(segment)), 201


@bp.get("/<int:segment_id>")
@admin_api
def show(segment_id: int) -> Response:
    """A segment with its size over time."""
    segment = saved.get_segment(current_shop().id, segment_id)
    return jsonify({**saved.segment_body(segment), "sizes": saved.size_history(segment)})


@bp.delete("/<int:segment_id>")
@admin_api
def remove(segment_id: int) -> tuple[str, int]:
    """Delete a segment."""
    saved.delete_segment(current_shop().id, segment_id)
    return "", 204


@bp.post("/<int:segment_id>/refresh")
@admin_api
def refresh(segment_id: int) -> Response:
    """Recompute a segment's members now."""
    segment = saved.get_segment(current_shop().id, segment_id)
    saved.refresh_segment(segment)
    return jsonify(saved.segment_body(segment))


@bp.get("/<int:segment_id>/export.csv")
@admin_api
def export(segment_id: int) -> Response:
    """The segment's customers as a CSV file."""
    segment = saved.get_segment(current_shop().id, segment_id)
    return Response(
        saved.export_csv(segment),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="segment-{segment.id}.csv"'},
    )


@bp.post("/<int:segment_id>/sync")
@admin_api
def sync(segment_id: int) -> Response:
    """Tag the segment's customers in Shopify (and untag those who left)."""
    shop = current_shop()
    segment = saved.get_segment(shop.id, segment_id)
    return jsonify(saved.sync_tags(shop, segment))
