"""Celery tasks of recommend."""
