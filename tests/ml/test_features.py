"""Session features: one encoding for training and serving, no peeking at the purchase."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from analytics.useragents import device_class
from ml.datasets import read_rees46
from ml.features import (
    AGGREGATE_NAMES,
    STEP_WIDTH,
    FeatureSpec,
    SessionEvent,
    SessionInput,
    aggregate,
    encode,
    referrer_class,
)


def _session(*types: str, returning: bool = False) -> SessionInput:
    events = [SessionEvent(kind, 1000.0 + 30 * i, price=20.0) for i, kind in enumerate(types)]
    return SessionInput(events, returning=returning, device="mobile", referrer_class="search")


def test_a_session_becomes_a_padded_matrix_with_one_row_per_event() -> None:
    spec = FeatureSpec(max_events=6, typical_price=20.0)
    matrix = encode(_session("product_view", "product_view", "add_to_cart"), spec)
    assert matrix.shape == (6, STEP_WIDTH)
    assert (np.abs(matrix[:3]).sum(axis=1) > 0).all()
    assert not matrix[3:].any(), "padding rows must be all zero so the LSTM masks them"


def test_aggregates_count_what_the_shopper_did() -> None:
    spec = FeatureSpec(max_events=10, typical_price=10.0)
    row = aggregate(encode(_session("product_view", "product_view", "add_to_cart", returning=True), spec))[0]
    named = dict(zip(AGGREGATE_NAMES, row, strict=True))
    assert named["count_product_view"] == 2
    assert named["count_add_to_cart"] == 1
    assert named["events"] == 3
    assert named["returning"] == 1
    assert named["device_mobile"] == 1
    assert named["referrer_search"] == 1
    assert named["log_cart_value"] > 0
    assert named["mean_rel_price"] > 0, "items cost twice the shop's typical price"


def test_referrers_and_devices_are_classified() -> None:
    assert referrer_class("https://www.google.com/") == "search"
    assert referrer_class("https://l.instagram.com/x") == "social"
    assert referrer_class("", "cpc") == "paid"
    assert referrer_class("https://shop.example/p", own_host="shop.example") == "direct"
    assert device_class("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile") == "mobile"
    assert device_class("Mozilla/5.0 (Windows NT 10.0; Win64; x64)") == "desktop"


def test_rees46_sessions_stop_before_their_first_purchase(tmp_path: Path) -> None:
    header = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n"
    rows = [
        "2019-10-01 00:00:00 UTC,view,1,1,,b,10.0,7,s1",
        "2019-10-01 00:01:00 UTC,cart,1,1,,b,10.0,7,s1",
        "2019-10-01 00:02:00 UTC,purchase,1,1,,b,10.0,7,s1",
        "2019-10-01 00:03:00 UTC,view,2,1,,b,50.0,7,s1",
        "2019-10-01 01:00:00 UTC,view,3,1,,b,5.0,7,s2",
        "2019-10-01 01:00:00 UTC,view,3,1,,b",
    ]
    path = tmp_path / "head.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(header + "\n".join(rows) + "\n")
    first, second = read_rees46(path)
    assert first.bought
    assert [e.type for e in first.session.events] == ["product_view", "add_to_cart"]
    assert not second.bought
    assert second.session.returning
