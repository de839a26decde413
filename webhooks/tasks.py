"""Celery tasks of webhooks."""
