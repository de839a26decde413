"""Celery tasks of the Shopify platform (catalog sync, shop details, token refresh)."""
