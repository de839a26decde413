"""Celery tasks of ml."""
