"""The storefront's copy of the merchant's tracking settings: app-data metafields on the installation.

A theme app extension can read metafields the app owns on its `AppInstallation` as
`app.metafields.clickstream.<key>`, so the app embed block hands the tracker the shop's consent
mode without a request to us. We write them with `metafieldsSet` whenever the merchant changes a
setting and after install.
"""

from __future__ import annotations

from typing import Any

from shopify_app.core.graphql import graphql
from shopify_app.core.models import Shop

NAMESPACE = "clickstream"
CURRENT_INSTALLATION = "query { currentAppInstallation { id } }"
METAFIELDS_SET = """
mutation metafieldsSet($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) { metafields { key value } userErrors { field message } }
}"""


def storefront_values(settings: dict[str, Any]) -> dict[str, str]:
    """What the storefront needs to know of the shop's settings, as metafield values."""
    return {"consent_mode": str(settings.get("consent_mode") or "required")}


def publish_storefront_settings(shop: Shop) -> dict[str, str]:
    """Write the values to the app installation's metafields; returns what was written."""
    values = storefront_values(shop.settings or {})
    installation = graphql(shop, CURRENT_INSTALLATION)["currentAppInstallation"]["id"]
    metafields = [
        {
            "ownerId": installation,
            "namespace": NAMESPACE,
            "key": key,
            "type": "single_line_text_field",
            "value": value,
        }
        for key, value in values.items()
    ]
    graphql(shop, METAFIELDS_SET, {"metafields": metafields})
    return values
