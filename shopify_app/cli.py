"""The `clickstream` command line: a Flask CLI group with per-domain commands.

Each package adds its own commands in its `init_app` (`app.cli.add_command`); this module holds
the process commands (serve, worker, beat) and the demo seed.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
from functools import partial
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import text

from shopify_app.core.config import ConfigError, redact_url
from shopify_app.core.extensions import db, get_redis
from shopify_app.core.supervisor import Child, Supervisor


def _create_app() -> Flask:
    from shopify_app import create_app

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None


def check_services(app: Flask) -> None:
    """Fail with one clear line when the database or a configured Redis cannot be reached."""
    with app.app_context():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - turned into one readable line
            reason = str(getattr(exc, "orig", exc)).splitlines()[0]
            raise click.ClickException(
                f"cannot reach the database at {redact_url(app.config['DATABASE_URL'])}: {reason}"
            ) from None
        finally:
            db.session.remove()
        client = get_redis()
        if client is not None:
            try:
                client.ping()
            except Exception as exc:  # noqa: BLE001
                raise click.ClickException(
                    f"cannot reach Redis at {redact_url(app.config['REDIS_URL'])}: {exc}"
                ) from None
            if app.config.get("INGEST_SPOOL_DIR"):
                _check_spool_dir(app)


def _check_spool_dir(app: Flask) -> None:
    """The collector's spool directory exists and is writable (else every batch would fail)."""
    from analytics.ingest.spool import directory_for

    directory = directory_for(app.config["INGEST_SPOOL_DIR"], app.config["REDIS_URL"])
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".writable"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise click.ClickException(
            f"the collector's spool directory {directory} is not writable ({exc.strerror}): set"
            " INGEST_SPOOL_DIR to a writable local directory, or to off"
        ) from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
def cli() -> None:
    """Clickstream: analytics, recommendations and notifications for Shopify stores."""


@click.command("serve")
@click.option("--workers", type=int, default=None, help="Web worker processes (default: 2 per core).")
@with_appcontext
def serve_command(workers: int | None) -> None:
    """Serve the app on HOST:PORT (gunicorn; the reloading dev server when FLASK_DEBUG is set)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    check_services(app)
    host, port = app.config["HOST"], int(app.config["PORT"])
    click.echo(f"Clickstream serving on http://{host}:{port}/")
    if app.debug:
        app.run(host=host, port=port, debug=True)
        return
    from shopify_app.server import run_gunicorn

    run_gunicorn(app, host=host, port=port, workers=workers or 2 * (multiprocessing.cpu_count() or 1))


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


@click.command("worker")
@click.option("--concurrency", type=int, default=2, show_default=True, help="Celery task processes.")
@click.option(
    "--without", multiple=True, help="Leave out a part: 'tasks' or a named process (e.g. 'writer')."
)
@with_appcontext
def worker_command(concurrency: int, without: tuple[str, ...]) -> None:
    """Run the background workers: Celery tasks and the registered processes (event writer).

    Each runs in a child process that is started again if it exits (`shopify_app.core.supervisor`)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    check_services(app)
    children = [
        Child(name, target)
        for name, target in app.extensions.get("worker_processes", {}).items()
        if name not in without
    ]
    if "tasks" not in without:
        if not app.config.get("CELERY_BROKER_URL"):
            raise click.ClickException("CELERY_BROKER_URL (or REDIS_URL) must be set to run task workers")
        argv = [
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
        ]
        children.append(Child("tasks", partial(app.extensions["celery"].worker_main, argv), daemon=False))
    if not children:
        raise click.ClickException("nothing to run: every part was left out with --without")
    # SIGTERM (systemd, docker stop, a test) stops the children too: as SystemExit, the
    # supervisor's `finally` runs. Celery's task worker turns it into its warm shutdown.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    Supervisor(children, say=click.echo).run()


@click.command("beat")
@with_appcontext
def beat_command() -> None:
    """Run the Celery beat scheduler (retraining, segment refresh, reconciliation)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    check_services(app)
    if not app.config.get("CELERY_BROKER_URL"):
        raise click.ClickException("CELERY_BROKER_URL (or REDIS_URL) must be set to run beat")
    schedule_file = Path(app.instance_path) / "celerybeat-schedule"
    app.extensions["celery"].start(["beat", "--loglevel=INFO", f"--schedule={schedule_file}"])


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Seed demo-shop.myshopify.com with a catalog from the REES46 sample (and its history)."""
    from shopify_app.demo import seed_demo_shop

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    result = seed_demo_shop(Path(app.config["DATA_DIR"]))
    click.echo(f"demo shop seeded: {result.products} products in {result.collections} collections")
    for hook in app.extensions.get("demo_hooks", []):
        hook(result)


def init_app(app: Flask) -> None:
    """Add the process and demo commands to the app's CLI."""
    for command in (serve_command, worker_command, beat_command, demo_command):
        app.cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(prog_name="clickstream")
    except ConfigError as exc:
        click.echo(f"Error: configuration: {exc}", err=True)
        sys.exit(2)
