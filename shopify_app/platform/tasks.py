"""Celery tasks of the Shopify platform (shop details, web pixel, catalog sync, token refresh)."""

from __future__ import annotations

from celery import shared_task

from shopify_app.core.auth import access_token_for
from shopify_app.core.errors import AppError
from shopify_app.core.extensions import db
from shopify_app.core.models import Shop


def _active_shop(shop_id: int) -> Shop | None:
    shop = db.session.get(Shop, shop_id)
    return shop if shop is not None and shop.is_active else None


@shared_task(name="platform.set_up_shop")
def set_up_shop(shop_id: int) -> None:
    """After install: fetch the shop's details, connect its web pixel, then sync its catalog."""
    from shopify_app.platform.catalog import set_progress, sync_catalog
    from shopify_app.platform.install import fetch_shop_details
    from shopify_app.platform.web_pixel import connect_web_pixel

    shop = _active_shop(shop_id)
    if shop is None:
        return
    try:
        fetch_shop_details(shop)
    except AppError as exc:
        db.session.rollback()
        set_progress(shop_id, "failed", 0, f"could not fetch the shop's details: {exc.message}")
        raise
    connect_web_pixel(shop)  # records Shopify's refusal for admin rather than raising
    publish_storefront_settings_task.delay(shop_id)
    sync_catalog(shop)


@shared_task(name="platform.connect_web_pixel", ignore_result=True)
def connect_web_pixel_task(shop_id: int) -> None:
    """Create or update the shop's web pixel with the app's current settings."""
    from shopify_app.platform.web_pixel import connect_web_pixel

    shop = _active_shop(shop_id)
    if shop is not None and shop.access_token_encrypted:
        connect_web_pixel(shop)


@shared_task(name="platform.sync_catalog")
def sync_catalog_task(shop_id: int) -> None:
    """Run a full catalog sync (the merchant's "sync now")."""
    from shopify_app.platform.catalog import sync_catalog

    shop = _active_shop(shop_id)
    if shop is not None:
        sync_catalog(shop)


@shared_task(name="platform.refresh_access_token")
def refresh_access_token_task(shop_id: int) -> None:
    """Refresh the shop's access token if it expires soon (safe to run from several workers)."""
    shop = _active_shop(shop_id)
    if shop is not None:
        access_token_for(shop)


@shared_task(name="platform.publish_storefront_settings", ignore_result=True)
def publish_storefront_settings_task(shop_id: int) -> None:
    """Copy the shop's tracking settings to the storefront (app-data metafields)."""
    import logging

    from shopify_app.platform.storefront_settings import publish_storefront_settings

    shop = _active_shop(shop_id)
    if shop is None or not shop.access_token_encrypted:
        return
    try:
        publish_storefront_settings(shop)
    except AppError as exc:  # the merchant's change is saved; the storefront keeps the previous value
        logging.getLogger(__name__).warning("storefront settings not published for %s: %s", shop.domain, exc)
