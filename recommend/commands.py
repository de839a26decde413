"""Command line of the recommend package: `clickstream eval-recs`."""

from __future__ import annotations

import json
from pathlib import Path

import click

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
