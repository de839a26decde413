"""Saved segments: create, refresh membership (and record the size), export as CSV, sync tags.

Each public function is one unit of work and commits once.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from analytics.segment_models import Segment, SegmentMember, SegmentSize
from analytics.segments.rules import describe_rule, select_customers, validate_rule
from shopify_app.core.errors import BadRequest, Conflict, NotFound
from shopify_app.core.extensions import db
from shopify_app.core.models import Customer, Shop
from shopify_app.core.spreadsheets import csv_text
from shopify_app.core.types import utcnow

TAG = re.compile(r"^[A-Za-z0-9 _:.-]{1,64}$")
TAGS_ADD = """
mutation tagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } }
}"""
TAGS_REMOVE = """
mutation tagsRemove($id: ID!, $tags: [String!]!) {
  tagsRemove(id: $id, tags: $tags) { node { id } userErrors { field message } }
}"""


def segment_body(segment: Segment) -> dict[str, Any]:
    """A segment as the admin shows it."""
    return {
        "id": segment.id,
        "name": segment.name,
        "rule": segment.rule,
        "description": describe_rule(segment.rule),
        "customer_tag": segment.customer_tag,
        "size": segment.size,
        "refreshed_at": segment.refreshed_at.isoformat() if segment.refreshed_at else None,
        "synced_at": segment.synced_at.isoformat() if segment.synced_at else None,
        "sync_error": segment.sync_error,
    }


def create_segment(shop_id: int, name: Any, rule: Any, customer_tag: Any = None) -> Segment:
    """Save a segment and compute its first membership."""
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 120:
        raise BadRequest("name must be 1 to 120 characters", field="name")
    if customer_tag is not None and (not isinstance(customer_tag, str) or not TAG.match(customer_tag)):
        raise BadRequest("customer_tag must be 1 to 64 letters, digits, spaces or _:.-", field="customer_tag")
    clean = validate_rule(rule)
    taken = db.session.scalar(
        select(Segment.id).where(Segment.shop_id == shop_id, Segment.name == name.strip())
    )
    if taken is not None:
        raise Conflict("a segment with this name exists", field="name")
    segment = Segment(shop_id=shop_id, name=name.strip(), rule=clean, customer_tag=customer_tag)
    db.session.add(segment)
    db.session.flush()
    _refresh(segment, utcnow())
    db.session.commit()
    return segment


def get_segment(shop_id: int, segment_id: int) -> Segment:
    """The shop's segment, or 404."""
    segment = db.session.scalar(select(Segment).where(Segment.shop_id == shop_id, Segment.id == segment_id))
    if segment is None:
        raise NotFound("no such segment")
    return segment


def delete_segment(shop_id: int, segment_id: int) -> None:
    """Forget a segment, its members and its size history."""
    db.session.delete(get_segment(shop_id, segment_id))
    db.session.commit()


def refresh_segment(segment: Segment, now: datetime | None = None) -> int:
    """Recompute membership from the rule, record the size; returns the size."""
    size = _refresh(segment, now or utcnow())
    db.session.commit()
    return size


def _refresh(segment: Segment, moment: datetime) -> int:
    wanted = select_customers(segment.shop_id, segment.rule, moment)
    current = set(
        db.session.scalars(select(SegmentMember.customer_id).where(SegmentMember.segment_id == segment.id))
    )
    gone = current - wanted
    if gone:
        db.session.execute(
            delete(SegmentMember).where(
                SegmentMember.segment_id == segment.id, SegmentMember.customer_id.in_(gone)
            )
        )
    for customer_id in sorted(wanted - current):
        db.session.add(SegmentMember(shop_id=segment.shop_id, segment_id=segment.id, customer_id=customer_id))
    segment.size = len(wanted)
    segment.refreshed_at = moment
    db.session.add(
        SegmentSize(shop_id=segment.shop_id, segment_id=segment.id, size=len(wanted), measured_at=moment)
    )
    db.session.flush()
    return len(wanted)


def refresh_all(shop_id: int) -> int:
    """Refresh every saved segment of a shop; returns how many."""
    segments = db.session.scalars(select(Segment).where(Segment.shop_id == shop_id)).all()
    for segment in segments:
        _refresh(segment, utcnow())
    db.session.commit()
    return len(segments)


def size_history(segment: Segment, limit: int = 90) -> list[dict[str, Any]]:
    """The segment's size at its latest refreshes, oldest first."""
    rows = db.session.execute(
        select(SegmentSize.measured_at, SegmentSize.size)
        .where(SegmentSize.segment_id == segment.id)
        .order_by(SegmentSize.measured_at.desc(), SegmentSize.id.desc())
        .limit(limit)
    ).all()
    return [{"measured_at": when.isoformat(), "size": size} for when, size in reversed(rows)]


def members(segment: Segment) -> list[Customer]:
    """The segment's customers, by id."""
    return list(
        db.session.scalars(
            select(Customer)
            .join(SegmentMember, SegmentMember.customer_id == Customer.id)
            .where(SegmentMember.segment_id == segment.id, Customer.shop_id == segment.shop_id)
            .order_by(Customer.id)
        )
    )


def export_csv(segment: Segment) -> str:
    """The members as CSV (customer id, Shopify id, email, first and last name), safe to open in a
    spreadsheet (`shopify_app.core.spreadsheets`)."""
    return csv_text(
        ["customer_id", "shopify_customer_id", "email", "first_name", "last_name"],
        (
            [person.id, person.shopify_id, person.email, person.first_name, person.last_name]
            for person in members(segment)
        ),
    )


def sync_tags(shop: Shop, segment: Segment) -> dict[str, int]:
    """Put the segment's tag on its members in Shopify and take it off customers who left."""
    from shopify_app.core.graphql import graphql

    if not segment.customer_tag:
        raise BadRequest("the segment has no customer tag", field="customer_tag")
    try:
        added, removed = _push_tags(shop, segment, graphql)
    except Exception as exc:
        segment.sync_error = str(exc)[:1024]
        db.session.commit()  # keep the tags already pushed, and the error for the merchant
        raise
    segment.synced_at = utcnow()
    segment.sync_error = None
    db.session.commit()
    return {"added": added, "removed": removed}


def _push_tags(shop: Shop, segment: Segment, graphql: Any) -> tuple[int, int]:
    tag = str(segment.customer_tag)
    rows = db.session.execute(
        select(SegmentMember, Customer)
        .join(Customer, Customer.id == SegmentMember.customer_id)
        .where(SegmentMember.segment_id == segment.id, SegmentMember.tagged.is_(False))
    ).all()
    added = 0
    for member, person in rows:
        graphql(shop, TAGS_ADD, {"id": customer_gid(person.shopify_id), "tags": [tag]})
        member.tagged = True
        tags = _tags(person)
        person.tags = ", ".join([*tags, tag]) if tag not in tags else person.tags
        added += 1
    in_segment = select(SegmentMember.customer_id).where(SegmentMember.segment_id == segment.id)
    leavers = db.session.scalars(
        select(Customer).where(
            Customer.shop_id == shop.id,
            Customer.tags.is_not(None),
            Customer.tags.contains(tag),
            Customer.id.not_in(in_segment),
        )
    ).all()
    removed = 0
    for person in leavers:
        tags = _tags(person)
        if tag in tags:
            graphql(shop, TAGS_REMOVE, {"id": customer_gid(person.shopify_id), "tags": [tag]})
            person.tags = ", ".join(other for other in tags if other != tag)
            removed += 1
    return added, removed


def _tags(person: Customer) -> list[str]:
    return [tag.strip() for tag in (person.tags or "").split(",") if tag.strip()]


def customer_gid(shopify_id: int) -> str:
    """The GraphQL global id of a customer."""
    return f"gid://shopify/Customer/{shopify_id}"
