"""A forged login through the real path: collector -> Redis stream -> a writer process -> MariaDB.

Only the login whose identity token verifies links its visitor to the customer; the forged one,
sent between good batches, is stored as a claim and creates no customer.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from analytics.identity_tokens import issue_identity_token
from analytics.models import Event, Visitor
from shopify_app.core.extensions import db
from shopify_app.core.models import Customer
from tests.pipeline.test_counts import BROWSER
from tests.pipeline.test_stream_writer import _stored, _writer, redis_app, shop_domain, tracker_batch
from tests.support.databases import TestDatabase
from tests.support.processes import wait_until

pytestmark = [pytest.mark.committed, pytest.mark.redis, pytest.mark.usefixtures("db")]
__all__ = ["redis_app", "shop_domain"]  # fixtures shared with the stream writer's tests
VICTIM = 5001


def _identify(domain: str, visitor: str, customer: int, token: str | None) -> dict[str, Any]:
    now = int(time.time() * 1000)
    event = {"id": str(uuid.uuid4()), "type": "identify", "ts": now - 500, "visitor_id": visitor,
             "customer_id": customer, "identity_token": token, "url": f"https://{domain}/account"}  # fmt: skip
    return {"shop": domain, "sent_at": now, "events": [event]}


def test_a_forged_identify_between_good_batches_links_nothing_through_a_real_writer(
    redis_app: Flask, shop_domain: str, test_database: TestDatabase, redis_url: str
) -> None:
    client = redis_app.test_client()
    batches = [
        tracker_batch(shop_domain, 5, visitor="v-good-1"),
        _identify(shop_domain, "v-victim", VICTIM, issue_identity_token(shop_domain, "v-victim", VICTIM)[0]),
        _identify(shop_domain, "v-attacker", VICTIM, None),
        _identify(shop_domain, "v-attacker", 424242, "424242.9999999999.forged"),
        tracker_batch(shop_domain, 5, visitor="v-good-2"),
    ]
    for batch in batches:
        answer = client.post("/events/", json=batch, headers={"User-Agent": BROWSER})
        assert answer.status_code == 202, answer.get_json()
    with _writer(test_database, redis_url):
        wait_until(lambda: _stored() == 13, message="every batch stored")
    db.session.remove()
    customers = db.session.execute(select(Customer.shopify_id)).scalars().all()
    assert customers == [VICTIM], "only the signed login made a customer"
    owners = dict(db.session.execute(select(Visitor.visitor_key, Visitor.customer_id)).all())
    victim = db.session.execute(select(Customer.id)).scalar_one()
    assert owners["v-victim"] == victim
    assert owners["v-attacker"] is None
    claims = db.session.execute(
        select(Event.props)
        .join(Visitor, Visitor.id == Event.visitor_id)
        .where(Visitor.visitor_key == "v-attacker")
    ).scalars()
    assert sorted(props["claimed_customer_id"] for props in claims) == [VICTIM, 424242]
    assert (
        db.session.execute(
            select(func.count()).select_from(Event).where(Event.customer_id == victim)
        ).scalar()
        == 1
    )
