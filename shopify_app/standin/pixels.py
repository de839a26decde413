"""The stand-in's web pixel: `webPixelCreate`, `webPixelUpdate` and `webPixel`, as Shopify answers them.

Shopify keeps one web pixel per app and shop, and validates a mutation's `settings` (a JSON
string) against the settings definition of the deployed pixel extension (`[settings.fields]` in
its `shopify.extension.toml`): a field the definition lacks, a missing field, a value of the
wrong type or failing a validation is an `INVALID_SETTINGS` user error, and no pixel changes.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

PIXEL_EXTENSION = (
    Path(__file__).resolve().parents[2] / "extensions" / "clickstream-pixel" / "shopify.extension.toml"
)
NO_PIXEL = "No web pixel was found for this app."


def deployed_settings_fields(path: Path = PIXEL_EXTENSION) -> dict[str, dict[str, Any]]:
    """The pixel extension's settings definition: field key -> its TOML table."""
    definition = tomllib.loads(path.read_text())
    fields: dict[str, dict[str, Any]] = definition.get("settings", {}).get("fields", {})
    return fields


def settings_problem(raw: Any, fields: dict[str, dict[str, Any]]) -> tuple[str, str] | None:
    """(code, message) when `raw` does not match the definition, else None."""
    try:
        settings = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        settings = None
    if not isinstance(settings, dict):
        return "INVALID_CONFIGURATION_JSON", "Settings must be a JSON object string"
    for key in settings:
        if key not in fields:
            return "INVALID_SETTINGS", f"Settings field '{key}' is not defined by the extension"
    for key, definition in fields.items():
        value = settings.get(key)
        if not isinstance(value, str):
            return "INVALID_SETTINGS", f"Settings field '{key}' is required and must be text"
        for validation in definition.get("validations", []):
            limit = int(validation.get("value", 0))
            if validation.get("name") == "min" and len(value) < limit:
                return "INVALID_SETTINGS", f"Settings field '{key}' must be at least {limit} characters"
            if validation.get("name") == "max" and len(value) > limit:
                return "INVALID_SETTINGS", f"Settings field '{key}' must be at most {limit} characters"
    return None


def user_error(code: str, message: str, field: list[str]) -> dict[str, Any]:
    """One `ErrorsWebPixelUserError`."""
    return {"code": code, "field": field, "message": message}
