"""Pipeline test settings: the `fault` marker (included by default; deselect with `-m "not fault"`)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fault: stops a private MariaDB or kills a writer; run in the final suite, never against the shared server",
    )
