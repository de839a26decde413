"""Recommendation tables (co-occurrence, popularity, pins)."""
