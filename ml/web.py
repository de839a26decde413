"""Wiring of the ml package into the Flask app: commands (and, later, routes)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from shopify_app.core.errors import AppError

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


@click.command("train")
@click.option(
    "--shop", "shop_domain", help="The shop's domain; without it, the global model pooled across shops."
)
@click.option("--epochs", default=30, show_default=True, help="Most epochs (early stopping ends sooner).")
@click.option("--rollback", is_flag=True, help="Serve the previous version again instead of training.")
@with_appcontext
def train_command(shop_domain: str | None, epochs: int, rollback: bool) -> None:
    """Train the conversion model of a shop (or the global model) and serve it if it is better."""
    from ml import training
    from ml.network import TrainingConfig
    from shopify_app.core.shops import find_shop

    shop_id = None
    if shop_domain:
        shop = find_shop(shop_domain)
        if shop is None:
            raise click.ClickException(f"no shop {shop_domain!r} here (check --shop)")
        shop_id = shop.id
    try:
        if rollback:
            row = training.rollback(shop_id)
            click.echo(f"now serving version {row.version}")
            return
        row = training.train_model(
            shop_id, config=TrainingConfig(epochs=epochs), progress=lambda m: click.echo(m, err=True)
        )
    except AppError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(json.dumps({"version": row.version, "status": row.status, "metrics": row.metrics}))


def train_demo_model(_result: object) -> None:
    """After `clickstream demo`: a global model from the demo history, unless one already serves."""
    from ml import training
    from ml.network import TrainingConfig

    if training.active_version(None) is not None:
        return
    try:
        row = training.train_model(
            None, config=TrainingConfig(epochs=8), progress=lambda m: click.echo(m, err=True)
        )
    except AppError as exc:
        click.echo(f"no demo conversion model: {exc.message}", err=True)
        return
    click.echo(f"demo conversion model: version {row.version}, ROC-AUC {row.metrics['lstm']['roc_auc']}")


def init_app(app: Flask) -> None:
    """Register the conversion commands, the live scoring hooks and the retraining schedule."""
    from ml.live import enqueue_scoring, reply_for
    from shopify_app.core.hooks import register_demo_hook, register_hook
    from shopify_app.core.tasks import schedule_task

    app.cli.add_command(eval_conversion_command)
    app.cli.add_command(train_command)
    register_hook(app, "sessions_updated", enqueue_scoring)
    register_hook(app, "ingest_reply", reply_for)
    register_demo_hook(app, train_demo_model)
    schedule_task(app, "retrain-conversion-models", "ml.retrain_when_due", 6 * 60 * 60)
    schedule_task(app, "top-up-discount-codes", "ml.top_up_all_discount_codes", 15 * 60)
