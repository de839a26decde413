"""The error hierarchy every API answer is rendered from.

    AppError (500, "internal_error")
    ├── BadRequest (400, "bad_request")         a field failed validation; `field` names it
    │   └── PayloadTooLarge (413)
    ├── Unauthorized (401, "unauthorized")
    ├── Forbidden (403, "forbidden")
    ├── NotFound (404, "not_found")
    ├── Conflict (409, "conflict")
    ├── RateLimited (429, "rate_limited")
    └── ServiceUnavailable (503, "unavailable")

Features subclass these with their own codes; views raise, the handler renders
`{"error": code, "message": ..., "field": ...}`.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base of every error we answer with on purpose."""

    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of the error answer."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class BadRequest(AppError):
    """Input failed validation."""

    status = 400
    code = "bad_request"


class PayloadTooLarge(BadRequest):
    """The request body is larger than we accept."""

    status = 413
    code = "payload_too_large"


class Unauthorized(AppError):
    """The caller could not be authenticated."""

    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    """The caller is authenticated but may not do this."""

    status = 403
    code = "forbidden"


class NotFound(AppError):
    """The thing asked for does not exist (for this shop)."""

    status = 404
    code = "not_found"


class Conflict(AppError):
    """The request conflicts with the current state."""

    status = 409
    code = "conflict"


class RateLimited(AppError):
    """Too many requests; retry later."""

    status = 429
    code = "rate_limited"


class ServiceUnavailable(AppError):
    """A dependency is down; the caller should retry."""

    status = 503
    code = "unavailable"
