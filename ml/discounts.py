"""Discount codes for leaving shoppers: single-use, made ahead of time, each bound to one session.

A task (`ml.top_up_discount_codes`) keeps a small pool of codes per shop and percentage, each
created through the GraphQL Admin API with `usageLimit: 1` (one order can use it, once) and
`appliesOncePerCustomer`, valid for `CODE_DAYS`. The scoring path never calls Shopify: it takes
one unused code from the pool with a conditional UPDATE (`session_id` set once, unique), so two
processes can never hand the same code to two sessions. A code ending within `HAND_OUT_MARGIN`
is not handed out; an empty pool means no discount notification until the task refills it.
"""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from ml.models import DiscountCode
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop
from shopify_app.core.tasks import tasks_run_elsewhere
from shopify_app.core.types import utcnow

log = logging.getLogger(__name__)
POOL_SIZE = 20
TOP_UP_BELOW = 10
CODE_DAYS = 7
HAND_OUT_MARGIN = timedelta(days=1)
TAKE_ATTEMPTS = 5

DISCOUNT_MUTATION = """
mutation CreateDiscount($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode { id }
    userErrors { field message }
  }
}
"""


def discount_input(code: str, percent: int, starts_at_iso: str, ends_at_iso: str) -> dict[str, object]:
    """The `DiscountCodeBasicInput` of one pool code: single use, for any buyer, all items."""
    return {
        "title": f"Clickstream {percent}% ({code})",
        "code": code,
        "startsAt": starts_at_iso,
        "endsAt": ends_at_iso,
        "context": {"all": "ALL"},
        "customerGets": {"value": {"percentage": percent / 100}, "items": {"all": True}},
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
    }


def _usable(shop_id: int, percent: int):  # type: ignore[no-untyped-def]
    return (
        DiscountCode.shop_id == shop_id,
        DiscountCode.percent == percent,
        DiscountCode.session_id.is_(None),
        DiscountCode.ends_at > utcnow() + HAND_OUT_MARGIN,
    )


def codes_left(shop_id: int, percent: int) -> int:
    """Codes of this percentage the pool can still hand out."""
    count = db.session.execute(select(func.count()).where(*_usable(shop_id, percent))).scalar()
    return int(count or 0)


def take_code(shop_id: int, percent: int, session_id: int) -> str | None:
    """Bind one unused code to the session and return it (flushes, never commits): the session's
    earlier code when it already has one, None when the pool is empty."""
    held = db.session.execute(
        select(DiscountCode.code).where(
            DiscountCode.shop_id == shop_id, DiscountCode.session_id == session_id
        )
    ).scalar_one_or_none()
    if held is not None:
        return str(held)
    for _ in range(TAKE_ATTEMPTS):
        candidate = db.session.execute(
            select(DiscountCode.id, DiscountCode.code)
            .where(*_usable(shop_id, percent))
            .order_by(DiscountCode.id)
            .limit(1)
        ).first()
        if candidate is None:
            break
        claimed = db.session.execute(
            update(DiscountCode)
            .where(DiscountCode.id == candidate.id, DiscountCode.session_id.is_(None))
            .values(session_id=session_id, handed_out_at=utcnow())
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            if codes_left(shop_id, percent) < TOP_UP_BELOW:
                top_up_soon(shop_id, percent)
            return str(candidate.code)
    top_up_soon(shop_id, percent)
    return None


def top_up(shop: Shop, percent: int, size: int = POOL_SIZE) -> int:
    """Create codes through the Admin API until the pool holds `size` usable ones; commits each.

    Network I/O: run only by the task (or its embedded stand-in thread), never by the writer."""
    from shopify_app.core.graphql import ShopifyApiError, graphql

    if not shop.access_token_encrypted:
        return 0
    db.session.execute(  # codes that can no longer be handed out
        delete(DiscountCode).where(
            DiscountCode.shop_id == shop.id,
            DiscountCode.session_id.is_(None),
            DiscountCode.ends_at <= utcnow(),
        )
    )
    db.session.commit()
    made = 0
    for _ in range(max(0, size - codes_left(shop.id, percent))):
        code = "CS-" + secrets.token_hex(5).upper()
        starts = utcnow()
        ends = starts + timedelta(days=CODE_DAYS)
        variables = {
            "basicCodeDiscount": discount_input(
                code, percent, starts.isoformat() + "Z", ends.isoformat() + "Z"
            )
        }
        try:
            graphql(shop, DISCOUNT_MUTATION, variables)
        except ShopifyApiError as exc:
            log.warning("could not create a discount code for %s: %s", shop.domain, exc.code)
            break
        db.session.add(
            DiscountCode(shop_id=shop.id, code=code, percent=percent, created_at=starts, ends_at=ends)
        )
        db.session.commit()
        made += 1
    return made


_topping_up: set[tuple[int, int]] = set()
_topping_lock = threading.Lock()


def top_up_soon(shop_id: int, percent: int) -> None:
    """Have the pool refilled without waiting: a task worker's job, or (embedded, where tasks run
    in process) a background thread of this process, so the caller never waits on Shopify."""
    from ml.tasks import top_up_discount_codes

    if tasks_run_elsewhere():
        top_up_discount_codes.delay(shop_id, percent)
        return
    with _topping_lock:
        if (shop_id, percent) in _topping_up:
            return
        _topping_up.add((shop_id, percent))
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        try:
            with app.app_context():
                top_up_discount_codes(shop_id, percent)
        except Exception:  # a background refill: logged, tried again on the next need
            log.exception("discount pool of shop %s not refilled", shop_id)
        finally:
            with _topping_lock:
                _topping_up.discard((shop_id, percent))

    threading.Thread(target=run, name="discount-top-up", daemon=True).start()
