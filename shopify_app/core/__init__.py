"""The bottom layer: configuration, database and extensions, errors, the Shop tenant.

Every other package may import from here; this package imports from none of them.
"""
