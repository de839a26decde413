"""Named extension points, so a lower package can call into a higher one without importing it.

For example the collector (analytics) asks registered `ingest_reply` hooks (ml) for a notification
decision to hand back to the tracker, and the writer tells `sessions_updated` hooks (ml scoring,
recommendation refresh) which sessions it just committed.

Hooks in use:
    ingest_reply(shop (.id, .domain), visitor_key: str) -> dict | None     merged into the collector's answer
    sessions_updated(shop_id: int, session_ids: list[int]) -> None  after the writer commits
    catalog_changed(shop_id: int, product_ids: list[int]) -> None   after products change

Also here, so every package can plug in without importing the app's top layer:
`register_health_probe` (a line in /healthz), `register_worker_process` (a process under
`clickstream worker`) and `register_demo_hook` (runs after `clickstream demo` seeds the catalog).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

log = logging.getLogger(__name__)


def register_hook(app: Flask, name: str, hook: Callable[..., Any]) -> None:
    """Call `hook` whenever `run_hooks(name, ...)` runs in this app."""
    app.extensions.setdefault("hooks", {}).setdefault(name, []).append(hook)


def run_hooks(name: str, *args: Any, **kwargs: Any) -> list[Any]:
    """Run every hook registered under `name`; a failing hook is logged, never raised."""
    results = []
    for hook in current_app.extensions.get("hooks", {}).get(name, []):
        try:
            results.append(hook(*args, **kwargs))
        except Exception:
            log.exception("hook %s failed", name)
    return results


def register_health_probe(app: Flask, name: str, probe: Callable[[], Any]) -> None:
    """Report `probe()` under `name` in /healthz (e.g. the ingest backlog)."""
    app.extensions.setdefault("health_probes", {})[name] = probe


def register_worker_process(app: Flask, name: str, target: Callable[[], None]) -> None:
    """Run `target()` in its own process under `clickstream worker` (e.g. the event writer)."""
    app.extensions.setdefault("worker_processes", {})[name] = target


def register_demo_hook(app: Flask, hook: Callable[[Any], None]) -> None:
    """Run `hook(result)` after the demo catalog is seeded (e.g. import its event history)."""
    app.extensions.setdefault("demo_hooks", []).append(hook)
