"""Command line of the analytics package: `clickstream import-events`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from analytics.importer import FORMATS, count_lines, import_events, last_event_ms
from shopify_app.core.errors import AppError


@click.command("import-events")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--shop", "shop_domain", required=True, help="The shop's myshopify.com domain.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="The file's format.")
@click.option(
    "--shift-to-now", is_flag=True, help="Move every time so the newest event is now (demos, replays)."
)
@with_appcontext
def import_events_command(file: Path, shop_domain: str, fmt: str, shift_to_now: bool) -> None:
    """Import past events through the writer, sessionized like live ones (idempotent)."""
    shift = 0
    if shift_to_now:
        newest = last_event_ms(file, fmt)
        shift = int(time.time() * 1000) - newest if newest else 0
    total = max(count_lines(file) - (1 if fmt == "rees46" else 0), 0)
    try:
        bar = click.progressbar(length=total, label=f"importing {file.name}", file=sys.stderr)
        with bar:
            result = import_events(file, shop_domain, fmt, shift_ms=shift, progress=bar.update)
    except AppError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"read {result.read} events: stored {result.stored}, already stored {result.duplicates}, "
        f"skipped {result.skipped} unreadable"
    )


DEMO_HISTORY = "rees46_2019-Oct_head.csv.gz"


def import_demo_history(result: object) -> None:
    """After `clickstream demo`: the REES46 sample as the demo shop's history, ending now."""
    from flask import current_app

    from shopify_app.core.extensions import db
    from shopify_app.core.models import Shop

    path = Path(current_app.config["DATA_DIR"]) / DEMO_HISTORY
    shop = db.session.get(Shop, getattr(result, "shop_id", None))
    if shop is None or not path.exists():
        return
    newest = last_event_ms(path, "rees46") or 0
    shift = int(time.time() * 1000) - newest
    total = max(count_lines(path) - 1, 0)
    bar = click.progressbar(length=total, label="importing the demo history", file=sys.stderr)
    with bar:
        imported = import_events(path, shop.domain, "rees46", shift_ms=shift, progress=bar.update)
    click.echo(f"demo history: {imported.stored} new events, {imported.duplicates} already there")
    from analytics.demo_orders import record_demo_orders

    click.echo(f"demo orders: {record_demo_orders(shop)} (one for each purchase of the history)")
