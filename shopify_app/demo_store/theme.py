"""Rendering the real theme app extension blocks (Liquid) the way a Shopify theme would.

The demo storefront includes `extensions/clickstream-theme/blocks/*.liquid` unchanged, with
the few objects and filters those blocks use (`shop`, `request`, `product`, `collection`,
`customer`, `cart`, `block`; `json`, `asset_url`, `escape`). The `{% schema %}` section is for the
theme editor only, so it is cut before rendering.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from liquid import Environment, Undefined

BLOCKS = Path(__file__).resolve().parents[2] / "extensions" / "clickstream-theme" / "blocks"
SCHEMA = re.compile(r"{%-?\s*schema\s*-?%}.*?{%-?\s*endschema\s*-?%}", re.DOTALL)
ASSET_ROOT = "/storefront/"


def _json(value: Any) -> str:
    """Shopify's `json` filter; an undefined value is `null`."""
    if isinstance(value, Undefined):
        return "null"
    return json.dumps(value)


def _asset_url(name: str) -> str:
    return ASSET_ROOT + str(name)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment()
    env.filters["json"] = _json
    env.filters["asset_url"] = _asset_url
    return env


@lru_cache(maxsize=8)
def _template(name: str) -> Any:
    source = SCHEMA.sub("", (BLOCKS / f"{name}.liquid").read_text())
    return environment().from_string(source)


def render_block(name: str, **context: Any) -> str:
    """A theme block's HTML for this page."""
    return str(_template(name).render(**context))


def settings_of(name: str) -> dict[str, Any]:
    """The defaults of a block's settings, from its schema."""
    source = (BLOCKS / f"{name}.liquid").read_text()
    found = re.search(r"{%-?\s*schema\s*-?%}(.*?){%-?\s*endschema\s*-?%}", source, re.DOTALL)
    schema = json.loads(found.group(1)) if found else {}
    return {s["id"]: s.get("default") for s in schema.get("settings", []) if "id" in s}
