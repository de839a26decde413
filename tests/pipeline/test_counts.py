"""The REES46 sample, imported and replayed live, gives the numbers of the documented definitions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from analytics.importer import read_rees46
from tests.conftest import SHARED
from tests.pipeline.independent import rees46_counts
from tests.pipeline.stored import stored_counts

SAMPLE = SHARED / "data" / "rees46_2019-Oct_head.csv.gz"
# The CLI and the collector commit for real; the committed marker empties the tables afterwards.
pytestmark = pytest.mark.committed
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


@pytest.fixture(scope="module")
def expected() -> dict[str, int]:
    return rees46_counts(Path(SAMPLE))


def test_import_events_matches_the_definitions_and_is_idempotent(
    runner: FlaskCliRunner, shop: Any, expected: dict[str, int]
) -> None:
    args = ["import-events", str(SAMPLE), "--shop", shop.domain, "--format", "rees46"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert f"stored {expected['events']}" in first.output
    assert "skipped 1 unreadable" in first.output, "the file's cut-off last line"
    assert stored_counts(shop.id) == expected
    again = runner.invoke(args=args)
    assert f"already stored {expected['events']}" in again.output
    assert stored_counts(shop.id) == expected


def test_live_replay_through_the_collector_matches_the_definitions(
    client: FlaskClient, shop: Any, expected: dict[str, int]
) -> None:
    events = [e for e in read_rees46(Path(SAMPLE), shop.domain) if e is not None]
    shift = int(time.time() * 1000) - max(e["ts"] for e in events) - 60_000
    for e in events:
        e["ts"] += shift
    by_visitor = sorted(events, key=lambda e: (e["visitor_id"], e["ts"]))
    for start in range(0, len(by_visitor), 100):
        body = {
            "shop": shop.domain,
            "sent_at": int(time.time() * 1000),
            "events": by_visitor[start : start + 100],
        }
        response = client.post("/events/", json=body, headers={"User-Agent": BROWSER})
        assert response.status_code == 202, response.get_json()
    assert stored_counts(shop.id) == expected
