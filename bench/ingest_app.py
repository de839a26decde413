"""The real app for the ingest benchmark, plus `/noop`: the same server's ceiling (bench only)."""

from __future__ import annotations

from flask import Response

from shopify_app import create_app

app = create_app()


@app.post("/noop")
def noop() -> tuple[Response, int]:
    """Reads the body and answers 202, doing nothing else: what the framework alone costs."""
    from flask import jsonify, request

    request.get_data()
    return jsonify({"accepted": 0}), 202
