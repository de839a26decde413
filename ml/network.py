"""The Keras conversion model (no Flask, no database)."""
