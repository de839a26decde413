"""recommend package; its public surface is this module and its `services`."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's routes, CLI commands and health probes."""
    from recommend.commands import eval_recs_command

    app.cli.add_command(eval_recs_command)
