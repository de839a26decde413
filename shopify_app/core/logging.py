"""Structured logging: JSON lines in production, readable text in development.

Every record carries the shop and the request or task id from `log_context`, so one grep finds
everything that happened for one request.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import DBAPIError

from shopify_app.core.errors import AppError

log_context: ContextVar[dict[str, Any] | None] = ContextVar("log_context", default=None)

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def bind_log_context(**values: Any) -> None:
    """Attach values (shop, request_id, task_id) to every record logged from this context."""
    current = dict(log_context.get() or {})
    current.update({key: value for key, value in values.items() if value is not None})
    log_context.set(current)


def clear_log_context() -> None:
    """Forget the context at the end of a request or task."""
    log_context.set(None)


class ContextFilter(logging.Filter):
    """Copies the context variables onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (log_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    """Readable single lines with the context appended."""

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = {key: value for key, value in vars(record).items() if key not in _STANDARD}
        if extras:
            base += " " + " ".join(f"{key}={value}" for key, value in sorted(extras.items()))
        return base


def configure_logging(*, fmt: str, level: str) -> None:
    """Install one stream handler on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_clickstream", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._clickstream = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        JsonFormatter() if fmt == "json" else TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(level)


def describe_error(error: BaseException) -> str:
    """What failed, safe for a log line or a stored status: never the values involved.

    A database error's message quotes its SQL and often the row ("Duplicate entry 'x'"), and a
    Python error's can repeat the input, so only our own errors (written for the merchant) keep
    their message; a database error gives its class and server error code, others their class."""
    if isinstance(error, AppError):
        return f"{type(error).__name__}: {error.message}"
    if isinstance(error, DBAPIError):
        code = getattr(error.orig, "args", (None,))[:1]
        number = code[0] if code and isinstance(code[0], int) else None
        return f"{type(error).__name__} ({type(error.orig).__name__}{f' {number}' if number else ''})"
    return type(error).__name__


def error_frames(error: BaseException) -> str:
    """Where an error happened (file, line, function and source line of each frame), without its message."""
    return "".join(traceback.format_tb(error.__traceback__)).rstrip()
