"""Wiring of the ml package into the Flask app: commands (and, later, routes)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask

FORMATS = ("rees46", "uci-shoppers")


@click.command("eval-conversion")
@click.option("--data", "data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", required=True, type=click.Choice(FORMATS))
@click.option(
    "--epochs", default=30, show_default=True, help="Most LSTM epochs (early stopping ends sooner)."
)
@click.option("--quiet", is_flag=True, help="No progress lines on stderr.")
def eval_conversion_command(data: Path, fmt: str, epochs: int, quiet: bool) -> None:
    """Score the conversion models on a file: one JSON line per model and prefix length."""
    from ml.evaluation import evaluate_rees46, evaluate_uci_shoppers
    from ml.network import TrainingConfig

    def progress(message: str) -> None:
        if not quiet:
            click.echo(message, err=True)

    if fmt == "rees46":
        lines = evaluate_rees46(data, config=TrainingConfig(epochs=epochs), progress=progress)
    else:
        progress("5-fold stratified cross-validation of the gradient-boosting baseline")
        lines = evaluate_uci_shoppers(data)
    try:
        for line in lines:
            click.echo(json.dumps(line))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def init_app(app: Flask) -> None:
    """Register the conversion commands."""
    app.cli.add_command(eval_conversion_command)
