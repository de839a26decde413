"""Session features: an event sequence to a fixed-length tensor (no Flask, no database)."""
