"""Command line of the recommend package: `clickstream eval-recs` and `clickstream refresh-recommendations`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from recommend.evaluation import evaluate
from recommend.sknn import WEIGHTINGS, SessionKNNConfig


@click.command("eval-recs")
@click.option(
    "--train", "train_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--test", "test_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--format", "fmt", type=click.Choice(["session-rec"]), default="session-rec", show_default=True)
@click.option("--k", default=SessionKNNConfig.k, show_default=True, help="Neighbour sessions.")
@click.option(
    "--sample-size", default=SessionKNNConfig.sample_size, show_default=True, help="Candidate sessions."
)
@click.option(
    "--weighting", type=click.Choice(WEIGHTINGS), default=SessionKNNConfig.weighting, show_default=True
)
def eval_recs_command(
    train_path: Path, test_path: Path, fmt: str, k: int, sample_size: int, weighting: str
) -> None:
    """Next-item HR@20/MRR@20 of every recommender and a popularity baseline, one JSON line each."""
    config = SessionKNNConfig(k=k, sample_size=sample_size, weighting=weighting)
    try:
        results = evaluate(train_path, test_path, config=config)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    for result in results:
        click.echo(json.dumps(result))


def _feed_with_progress(shop_id: int, label: str) -> int:
    from recommend.feed import rebuild

    bar = click.progressbar(length=1, label=label, file=sys.stderr)
    with bar:

        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)

        return rebuild(shop_id, progress)


@click.command("refresh-recommendations")
@click.option("--shop", "shop_domain", required=True, help="The shop's myshopify domain.")
@with_appcontext
def refresh_recommendations_command(shop_domain: str) -> None:
    """Feed every stored session of a shop to its recommenders (after `import-events`)."""
    from shopify_app.core.shops import find_shop

    shop = find_shop(shop_domain)
    if shop is None:
        raise click.ClickException(f"no shop {shop_domain!r} here (check --shop)")
    fed = _feed_with_progress(shop.id, f"feeding {shop.domain}'s sessions")
    click.echo(json.dumps({"shop": shop.domain, "sessions_with_products": fed}))


def feed_demo_history(result: Any) -> None:
    """After `clickstream demo`: the imported history feeds the demo shop's widgets."""
    shop_id = getattr(result, "shop_id", None)
    if shop_id is not None:
        _feed_with_progress(shop_id, "feeding the demo shop's recommendations")
