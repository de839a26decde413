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
