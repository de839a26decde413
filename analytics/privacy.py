"""Privacy requests: export or erase one customer's data, delete a shop's data.

Tables are discovered from `db.metadata`, so a table added later by any package is covered. A
column belongs to a customer, a visitor or a session when it refers to `customers`, `visitors` or
`sessions` (by foreign key, or by `info[REFERENCES]` where the table goes without keys; a test
holds every `customer_id`, `visitor_id` and `session_id` column to that). Erasing a customer:

- finds the customer's visitors (linked, identified in a session or on an event) and their sessions;
- deletes every row whose non-nullable reference names one of them (the visitor's events, sessions,
  timelines, product views, widget trails, experiment assignments, segment memberships, links),
  and detaches the rows whose reference may be NULL (orders stay in the shop's revenue);
- deletes the shop's aggregate rows whose shopper-sent text (`info[SHOPPER_TEXT]`: page URLs,
  campaigns) carries the customer's email; other aggregates keep their counts;
- drops the customer's id from other visitors' events that merely claimed it (a forged login);
- then the visitor rows and the customer.

Deleting a shop empties every table with a `shop_id` column (dead letters included), then the
shop. A customer's erasure also deletes the dead letters whose payload names one of the
customer's visitors or the customer (`analytics.dead_letters.forget_dead_letters`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

from sqlalchemy import Column, String, Table, Text, cast, delete, inspect, or_, select, tuple_, update

from analytics.dead_letters import forget_dead_letters
from analytics.identity_tokens import CLAIM_PROP
from analytics.models import (
    REFERENCES,
    SHOPPER_TEXT,
    Event,
    Order,
    OrderLine,
    Visitor,
    VisitorCustomer,
    VisitSession,
)
from shopify_app.core.extensions import db
from shopify_app.core.in_lists import chunks
from shopify_app.core.models import Customer, Shop

CUSTOMERS = "customers"
VISITORS = "visitors"
SESSIONS = "sessions"
# The tables whose erased rows take along the rows naming them (or detach those that may be NULL).
OWNER_TABLES = (CUSTOMERS, VISITORS, SESSIONS)


@dataclass
class Erasure:
    """What a customer's erasure found and removed (counts per table; visitor keys for caches)."""

    found: bool = False
    visitor_keys: list[str] = field(default_factory=list)
    deleted: dict[str, int] = field(default_factory=dict)


def _find_customer(shop_id: int, shopify_customer_id: int) -> Customer | None:
    return db.session.execute(
        select(Customer).where(Customer.shop_id == shop_id, Customer.shopify_id == shopify_customer_id)
    ).scalar_one_or_none()


def export_customer(shop_id: int, shopify_customer_id: int) -> dict[str, Any]:
    """Everything we hold on one customer (a `customers/data_request`)."""
    customer = _find_customer(shop_id, shopify_customer_id)
    if customer is None:
        return {"customer": None, "orders": [], "visitors": []}
    orders = db.session.execute(
        select(Order).where(Order.shop_id == shop_id, Order.customer_id == customer.id)
    ).scalars()
    visitors = db.session.execute(
        select(Visitor.visitor_key).where(Visitor.shop_id == shop_id, Visitor.customer_id == customer.id)
    ).scalars()
    return {
        "customer": {
            "shopify_id": customer.shopify_id,
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "tags": customer.tags,
        },
        "orders": [
            {
                "shopify_id": order.shopify_id,
                "name": order.name,
                "total_price": str(order.total_price),
                "currency": order.currency,
                "processed_at": order.processed_at.isoformat(),
                "lines": [
                    {"product_id": line.product_id, "title": line.title, "quantity": line.quantity}
                    for line in db.session.execute(
                        select(OrderLine).where(OrderLine.order_id == order.id)
                    ).scalars()
                ],
            }
            for order in orders
        ],
        "visitors": list(visitors),
    }


def _existing_tables() -> list[Table]:
    """The metadata's tables that the database has (a model shipped ahead of its migration is skipped)."""
    present = set(inspect(db.session.connection()).get_table_names())
    return [table for table in db.metadata.sorted_tables if table.name in present]


def refers_to(column: Column[Any], table_name: str) -> bool:
    """Whether `column` names a row of `table_name` (by foreign key or `info[REFERENCES]`)."""
    parents = {fk.column.table.name for fk in column.foreign_keys} | {column.info.get(REFERENCES)}
    return table_name in parents


def owner_columns(table: Table) -> list[tuple[Column[Any], str]]:
    """The columns of `table` that name a customer, visitor or session, with the table each names."""
    return [
        (column, owner)
        for column in table.columns
        for owner in OWNER_TABLES
        if refers_to(column, owner) and not (table.name == owner and column.primary_key)
    ]


def shopper_text_columns(table: Table) -> list[Column[Any]]:
    """The columns of `table` holding text a shopper's browser sent (URLs, campaigns)."""
    return [column for column in table.columns if column.info.get(SHOPPER_TEXT)]


def _ids(statement: Any) -> set[int]:
    return {int(value) for value in db.session.execute(statement).scalars() if value is not None}


def _customer_visitors(shop_id: int, customer_id: int) -> set[int]:
    """Every visitor the customer was seen as: linked, identified in a session or on an event."""
    return (
        _ids(select(Visitor.id).where(Visitor.shop_id == shop_id, Visitor.customer_id == customer_id))
        | _ids(
            select(VisitorCustomer.visitor_id).where(
                VisitorCustomer.shop_id == shop_id, VisitorCustomer.customer_id == customer_id
            )
        )
        | _ids(
            select(VisitSession.visitor_id)
            .where(VisitSession.shop_id == shop_id, VisitSession.customer_id == customer_id)
            .distinct()
        )
        | _ids(
            select(Event.visitor_id)
            .where(Event.shop_id == shop_id, Event.customer_id == customer_id)
            .distinct()
        )
    )


def _visitor_sessions(shop_id: int, visitor_ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for part in chunks(visitor_ids):
        found |= _ids(
            select(VisitSession.id).where(VisitSession.shop_id == shop_id, VisitSession.visitor_id.in_(part))
        )
    return found


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _scoped(table: Table, shop_id: int, condition: Any) -> Any:
    """`condition`, narrowed to the shop when the table has a `shop_id` (so its index is used)."""
    if "shop_id" in table.columns:
        return (table.c.shop_id == shop_id) & condition
    return condition


def _change_rows(table: Table, condition: Any, clear: Column[Any] | None) -> int:
    """Delete the rows matching `condition` (or set `clear` to NULL in them); the rows' keys are
    read first without locks, then changed by primary key, so a scan never holds the writer's rows."""
    key = list(table.primary_key.columns)
    found = [tuple(row) for row in db.session.execute(select(*key).where(condition)).all()]
    return _change_by_key(table, found, clear)


def _change_by_key(table: Table, keys: Sequence[tuple[Any, ...]], clear: Column[Any] | None) -> int:
    """Delete the rows with these primary keys (or set `clear` to NULL in them); returns how many went."""
    key = list(table.primary_key.columns)
    changed = 0
    for part in chunks(keys):
        where = key[0].in_([row[0] for row in part]) if len(key) == 1 else tuple_(*key).in_(part)
        if clear is None:
            changed += _rowcount(db.session.execute(delete(table).where(where)))
        else:
            db.session.execute(update(table).where(where).values({clear.name: None}))
    return changed


def _count(erasure: Erasure, table: Table, removed: int) -> None:
    if removed:
        erasure.deleted[table.name] = erasure.deleted.get(table.name, 0) + removed


def _erase_owned_rows(shop_id: int, owners: dict[str, Sequence[int]], erasure: Erasure) -> None:
    """Delete rows that cannot exist without one of `owners`; detach rows that can."""
    for table in reversed(_existing_tables()):
        if table.name in (CUSTOMERS, VISITORS):  # they go last, once nothing names them
            continue
        for column, owner in owner_columns(table):
            for part in chunks(sorted(owners[owner])):
                condition = _scoped(table, shop_id, column.in_(part))
                _count(erasure, table, _change_rows(table, condition, column if column.nullable else None))


def email_forms(email: str) -> list[str]:
    """How an email can appear in a URL or campaign: as typed, and percent-encoded."""
    return sorted({email, quote(email, safe=""), quote_plus(email), quote(email, safe="@")})


def _erase_shopper_text(shop_id: int, email: str, erasure: Erasure) -> None:
    """Remove the customer's email from what shoppers' browsers sent, in every table of the shop:
    rows of aggregates (whose text is part of the row) go, other rows lose the text. One read
    per table, without locks; the changes by primary key."""
    forms = email_forms(email)
    lowered = [form.lower() for form in forms]
    for table in _existing_tables():
        columns = shopper_text_columns(table)
        if not columns or "shop_id" not in table.columns:
            continue
        key = list(table.primary_key.columns)
        matches = or_(
            *(_as_text(column).contains(form, autoescape=True) for column in columns for form in forms)
        )
        found = db.session.execute(select(*key, *columns).where(table.c.shop_id == shop_id, matches)).all()
        doomed: list[tuple[Any, ...]] = []
        cleared: dict[str, list[tuple[Any, ...]]] = {column.name: [] for column in columns}
        for row in found:
            row_key, texts = tuple(row[: len(key)]), row[len(key) :]
            hits = [
                column
                for column, value in zip(columns, texts, strict=True)
                if value is not None and any(form in _text_of(value) for form in lowered)
            ]
            if any(not column.nullable for column in hits):
                doomed.append(row_key)
            else:
                for column in hits:
                    cleared[column.name].append(row_key)
        _count(erasure, table, _change_by_key(table, doomed, None))
        for column in columns:
            _change_by_key(table, cleared[column.name], column)


def _erase_claims(shop_id: int, shopify_customer_id: int) -> None:
    """Drop the customer's id from other visitors' events that merely claimed it (a forged login's
    `props.claimed_customer_id`): the claim never linked anyone, but it still names the customer."""
    table: Table = Event.__table__
    forms = [f'"{CLAIM_PROP}":{shopify_customer_id}', f'"{CLAIM_PROP}": {shopify_customer_id}']
    matches = or_(*(_as_text(table.c.props).contains(form, autoescape=True) for form in forms))
    found = db.session.execute(select(table.c.id, table.c.props).where(table.c.shop_id == shop_id, matches))
    for event_id, props in found.all():
        kept = dict(props or {})
        if kept.pop(CLAIM_PROP, None) != shopify_customer_id:  # a search for 12 finds 123 too
            continue
        db.session.execute(update(table).where(table.c.id == event_id).values(props=kept or None))


def _as_text(column: Column[Any]) -> Any:
    """The column as text to search (a JSON column, e.g. event props, as its serialised form)."""
    return column if isinstance(column.type, String | Text) else cast(column, Text)


def _text_of(value: Any) -> str:
    return (value if isinstance(value, str) else json.dumps(value, default=str)).lower()


def erase_customer(
    shop_id: int,
    shopify_customer_id: int,
    order_ids: list[int] | None = None,
    *,
    emails: Iterable[str] = (),
) -> Erasure:
    """Erase one customer and everything their visitors did (a `customers/redact`); flushes.

    `emails` (the request's) are erased from shopper-sent text along with the one we hold, also
    when we never knew the customer."""
    erasure = Erasure()
    if order_ids:
        db.session.execute(
            update(Order)
            .where(Order.shop_id == shop_id, Order.shopify_id.in_(order_ids))
            .values(customer_id=None, visitor_id=None, session_id=None)
        )
    customer = _find_customer(shop_id, shopify_customer_id)
    known = {email for email in emails if email}
    if customer is not None:
        erasure.found = True
        known |= {customer.email} if customer.email else set()
        _erase_customer_rows(shop_id, customer.id, erasure)
    for email in sorted(known):
        _erase_shopper_text(shop_id, email, erasure)
    _erase_claims(shop_id, shopify_customer_id)
    forget_dead_letters(shop_id, visitor_keys=erasure.visitor_keys, customer_ids=[shopify_customer_id])
    db.session.expire_all()
    db.session.flush()
    return erasure


def _erase_customer_rows(shop_id: int, customer_id: int, erasure: Erasure) -> None:
    visitors = sorted(_customer_visitors(shop_id, customer_id))
    for part in chunks(visitors):
        erasure.visitor_keys += db.session.execute(
            select(Visitor.visitor_key).where(Visitor.id.in_(part))
        ).scalars()
    owners: dict[str, Sequence[int]] = {
        CUSTOMERS: [customer_id],
        VISITORS: visitors,
        SESSIONS: sorted(_visitor_sessions(shop_id, visitors)),
    }
    _erase_owned_rows(shop_id, owners, erasure)
    visitors_table: Table = Visitor.__table__
    for part in chunks(visitors):
        condition = (visitors_table.c.shop_id == shop_id) & visitors_table.c.id.in_(part)
        _count(
            erasure, visitors_table, _rowcount(db.session.execute(delete(visitors_table).where(condition)))
        )
    customers_table: Table = Customer.__table__
    removed = db.session.execute(delete(customers_table).where(customers_table.c.id == customer_id))
    _count(erasure, customers_table, _rowcount(removed))


def delete_shop_data(shop_id: int) -> dict[str, int]:
    """Delete every row of the shop in every table, then the shop itself (a `shop/redact`)."""
    counts: dict[str, int] = {}
    for table in reversed(_existing_tables()):
        if "shop_id" in table.columns:
            result = db.session.execute(delete(table).where(table.c.shop_id == shop_id))
            counts[table.name] = _rowcount(result)
    db.session.execute(delete(Shop.__table__).where(Shop.__table__.c.id == shop_id))
    db.session.expire_all()
    db.session.flush()
    return counts
