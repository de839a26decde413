"""Named extension points, so a lower package can call into a higher one without importing it.

For example the collector (analytics) asks registered `ingest_reply` hooks (ml) for a notification
decision to hand back to the tracker, and the writer tells `sessions_updated` hooks (ml scoring,
recommendation refresh) which sessions it just committed.

Hooks in use:
    ingest_reply(shop (.id, .domain), visitor_key: str) -> dict | None     merged into the collector's answer
    sessions_updated(shop_id: int, session_ids: list[int]) -> None  after the writer commits
    catalog_changed(shop_id: int, product_ids: list[int]) -> None   after products change

A failing hook is logged with its error and counted (`hook_failure_counts`, shown in /metrics as
`clickstream_hook_failures_total`): with Redis the count is shared by every process (the writer
runs apart from the web servers that are scraped), without it this process's count is the one.

Also here, so every package can plug in without importing the app's top layer:
`register_health_probe` (a line in /healthz), `register_worker_process` (a process under
`clickstream worker`) and `register_demo_hook` (runs after `clickstream demo` seeds the catalog).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

from shopify_app.core.extensions import get_redis

log = logging.getLogger(__name__)
FAILURES_KEY = "cs:hook-failures"
_failures: Counter[str] = Counter()
_failures_lock = threading.Lock()


def register_hook(app: Flask, name: str, hook: Callable[..., Any]) -> None:
    """Call `hook` whenever `run_hooks(name, ...)` runs in this app."""
    app.extensions.setdefault("hooks", {}).setdefault(name, []).append(hook)


def run_hooks(name: str, *args: Any, **kwargs: Any) -> list[Any]:
    """Run every hook registered under `name`; a failing hook is logged and counted, never raised."""
    results = []
    for hook in current_app.extensions.get("hooks", {}).get(name, []):
        try:
            results.append(hook(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - every failure is logged and counted, never raised
            log.error("hook %s (%s) failed: %s", name, _hook_name(hook), describe_error(exc))
            _count_failure(name)
    return results


def describe_error(exc: BaseException) -> str:
    """The error's type, where it was raised and its text, without statement values: a database
    error's text would carry its SQL parameters (shoppers' data), so only its driver code shows."""
    frame, ours = exc.__traceback__, None
    while frame is not None:  # the innermost line of our own code (not a library's) says the most
        if "site-packages" not in frame.tb_frame.f_code.co_filename:
            ours = frame
        frame = frame.tb_next
    where = f" at {ours.tb_frame.f_code.co_filename}:{ours.tb_lineno}" if ours is not None else ""
    orig = getattr(exc, "orig", None)
    if orig is not None:  # SQLAlchemy's DBAPIError: the driver's error code only
        code = orig.args[0] if getattr(orig, "args", None) else ""
        return f"{type(exc).__name__} ({type(orig).__name__} {code}){where}"
    return f"{type(exc).__name__}: {str(exc)[:300]}{where}"


def _hook_name(hook: Callable[..., Any]) -> str:
    return f"{getattr(hook, '__module__', '?')}.{getattr(hook, '__qualname__', repr(hook))}"


def _count_failure(name: str) -> None:
    with _failures_lock:
        _failures[name] += 1
    client = get_redis()
    if client is None:
        return
    try:
        client.hincrby(FAILURES_KEY, name, 1)
    except Exception as exc:  # noqa: BLE001 - the count is best effort, the log line is not
        log.warning("hook failure of %s not counted in Redis: %s", name, type(exc).__name__)


def hook_failure_counts() -> dict[str, int]:
    """Failed hook runs by hook name: all processes' with Redis, this process's without."""
    client = get_redis()
    if client is not None:
        try:
            raw = client.hgetall(FAILURES_KEY)
            return {_text(k): int(v) for k, v in raw.items()}
        except Exception:  # /metrics still answers with this process's count
            log.warning("hook failure counts not read from Redis", exc_info=True)
    with _failures_lock:
        return dict(_failures)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def register_health_probe(app: Flask, name: str, probe: Callable[[], Any]) -> None:
    """Report `probe()` under `name` in /healthz (e.g. the ingest backlog)."""
    app.extensions.setdefault("health_probes", {})[name] = probe


def register_worker_process(app: Flask, name: str, target: Callable[[], None]) -> None:
    """Run `target()` in its own process under `clickstream worker` (e.g. the event writer)."""
    app.extensions.setdefault("worker_processes", {})[name] = target


def register_demo_hook(app: Flask, hook: Callable[[Any], None]) -> None:
    """Run `hook(result)` after the demo catalog is seeded (e.g. import its event history)."""
    app.extensions.setdefault("demo_hooks", []).append(hook)
