"""The demo storefront on a real `clickstream serve` (embedded mode) on the test database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from shopify_app.demo import seed_demo_shop
from tests.conftest import SHARED
from tests.support.processes import clickstream, free_port, process_env, wait_until


@pytest.fixture
def storefront(test_database: Any, db: Any) -> Iterator[str]:
    """The base URL of a server whose demo shop is seeded (the catalog, no history)."""
    seed_demo_shop(Path(SHARED / "data"))
    db.session.commit()
    port = free_port()
    env = process_env(DATABASE_URL=test_database.url, REDIS_URL="", PORT=str(port))
    base = f"http://127.0.0.1:{port}"
    with clickstream("serve", "--workers", "1", env=env, ready="serving on"):
        wait_until(lambda: _answers(f"{base}/healthz"), message="the server answers")
        yield base


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code < 600
    except requests.ConnectionError:
        return False
