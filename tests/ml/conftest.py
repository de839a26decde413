"""Stored sessions with a known signal, and a deterministic serving model, for the ml tests."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import insert, select

from analytics.models import Event, Visitor, VisitSession
from ml.features import STEP_WIDTH, FeatureSpec
from ml.models import ModelVersion
from ml.scorer import SPEC_FILE, WEIGHTS_FILE
from ml.training import KIND
from shopify_app.core.extensions import db

START = datetime(2026, 10, 1, 9, 0)


def make_sessions(shop: Any, count: int, *, seed: int = 3, buy_rate: float = 0.2) -> list[int]:
    """`count` sessions: buyers view, add to cart and buy; others mostly just view."""
    chance = random.Random(seed)
    keys = [f"ml-{shop.id}-{i}" for i in range(count)]
    db.session.execute(
        insert(Visitor), [{"shop_id": shop.id, "visitor_key": k, "first_seen_at": START} for k in keys]
    )
    ids = dict(
        db.session.execute(select(Visitor.visitor_key, Visitor.id).where(Visitor.shop_id == shop.id)).all()
    )
    sessions = []
    plans = []
    for number, key in enumerate(keys):
        begins = START + timedelta(minutes=7 * number)
        buyer = chance.random() < buy_rate
        kinds = ["product_view"] * chance.randint(1, 4)
        if buyer:
            kinds += ["add_to_cart", "checkout_started", "purchase"]
        elif chance.random() < 0.1:
            kinds += ["add_to_cart"]
        plans.append((key, begins, kinds))
        sessions.append(
            {
                "shop_id": shop.id,
                "visitor_id": ids[key],
                "started_at": begins,
                "last_event_at": begins,
                "day": begins.date(),
                "event_count": len(kinds),
                "is_new_visitor": True,
            }
        )
    db.session.execute(insert(VisitSession), sessions)
    session_ids = dict(
        db.session.execute(
            select(VisitSession.visitor_id, VisitSession.id).where(VisitSession.shop_id == shop.id)
        ).all()
    )
    events = []
    for key, begins, kinds in plans:
        for step, kind in enumerate(kinds):
            at = begins + timedelta(seconds=40 * step)
            events.append(
                {
                    "shop_id": shop.id,
                    "event_id": str(uuid.uuid4()),
                    "visitor_id": ids[key],
                    "session_id": session_ids[ids[key]],
                    "type": kind,
                    "product_id": 1000 + step,
                    "props": {"price": 25.0},
                    "client_ts": at,
                    "occurred_at": at,
                    "received_at": at,
                }
            )
    db.session.execute(insert(Event), events)
    return [session_ids[ids[key]] for key, _, _ in plans]


def write_constant_model(directory: Path, probability_logit: float) -> None:
    """Weights whose every output is sigmoid(`probability_logit`): a model with a known answer."""
    units = 2
    arrays = {
        "kernel": np.zeros((STEP_WIDTH, 4 * units)),
        "recurrent": np.zeros((units, 4 * units)),
        "bias": np.zeros(4 * units),
        "dense0_w": np.zeros((units, 1)),
        "dense0_b": np.array([probability_logit]),
    }
    directory.mkdir(parents=True, exist_ok=True)
    np.savez(directory / WEIGHTS_FILE, **arrays)  # type: ignore[arg-type]
    import json

    (directory / SPEC_FILE).write_text(json.dumps(FeatureSpec(max_events=20, typical_price=25.0).to_dict()))


@pytest.fixture
def model_dir(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """MODEL_DIR pointed at a temporary folder for this test."""
    monkeypatch.setitem(app.config, "MODEL_DIR", str(tmp_path / "models"))
    return tmp_path / "models"


@pytest.fixture
def serving_model(shop: Any, model_dir: Path) -> Any:
    """Make `serving_model(logit)` the shop's active model."""

    def serve(logit: float) -> ModelVersion:
        directory = model_dir / f"constant-{logit}"
        write_constant_model(directory, logit)
        row = ModelVersion(
            shop_id=shop.id, kind=KIND, version=1, path=str(directory), status="active", metrics={}
        )
        db.session.add(row)
        db.session.flush()
        return row

    return serve
