"""Segments: identified customers, saved behavioural segments, CSV export and Shopify tag sync."""
