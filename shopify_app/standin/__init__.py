"""A local Shopify stand-in: a real HTTP server answering as Shopify does, for tests and `make run`.

It follows Shopify's documented shapes (token endpoint, GraphQL Admin, bulk operations, signed
webhooks), not our code's wishes, so the app is tested against the platform's contract.
"""

from __future__ import annotations

import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from shopify_app.standin.server import ShopifyStandin

__all__ = ["ShopifyStandin", "standin_command"]


@click.command("shopify-standin")
@click.option("--port", type=int, default=8001, show_default=True, help="Port to listen on.")
@with_appcontext
def standin_command(port: int) -> None:
    """Run the local Shopify stand-in (token endpoint, GraphQL Admin, bulk files) until Ctrl-C."""
    config = current_app.config
    standin = ShopifyStandin(config["SHOPIFY_API_KEY"], config["SHOPIFY_API_SECRET"]).start(port)
    click.echo(
        f"Shopify stand-in on {standin.origin}; run the app with SHOPIFY_API_BASE_URL={standin.base_url}"
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        standin.stop()
