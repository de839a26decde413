"""Segment tables: saved segments, their membership and size over time."""
