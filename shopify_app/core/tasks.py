"""Celery, wired to the app factory: tasks run inside the app context.

Without a broker (the embedded default) tasks run eagerly, in process, through the same code.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun
from flask import Flask, appcontext_pushed, current_app

from shopify_app.core.logging import bind_log_context, clear_log_context


def celery_init_app(app: Flask, task_modules: list[str]) -> Celery:
    """Create the Celery app for `app`, importing `task_modules` so their tasks register."""

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    broker = app.config.get("CELERY_BROKER_URL")
    celery_app = Celery(app.import_name, task_cls=FlaskTask)
    celery_app.conf.update(
        broker_url=broker or "memory://",
        task_always_eager=broker is None,
        task_eager_propagates=True,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        imports=task_modules,
        beat_schedule=dict(app.config.get("CELERY_BEAT_SCHEDULE", {})),
        timezone="UTC",
    )
    celery_app.conf.update(app.config.get("CELERY", {}))
    # Celery logs each task's return value on success; tasks may return personal data (exports).
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    # `shared_task`s go to the default Celery app; with several Flask apps in one process (tests,
    # the bench) each app context makes its own Celery app the default, so tasks never cross apps.
    appcontext_pushed.connect(_make_default, app, weak=False)
    return celery_app


def tasks_run_elsewhere() -> bool:
    """Whether tasks go to task workers through a broker, rather than run in process (embedded)."""
    return not current_app.extensions["celery"].conf.task_always_eager


def schedule_task(app: Flask, name: str, task_name: str, every_seconds: float, **kwargs: Any) -> None:
    """Run the task `task_name` every `every_seconds` under `clickstream beat`."""
    app.extensions["celery"].conf.beat_schedule[name] = {
        "task": task_name,
        "schedule": every_seconds,
        "kwargs": kwargs,
    }


def _make_default(app: Flask, **_: Any) -> None:
    celery_app = app.extensions["celery"]
    celery_app.set_default()
    celery_app.set_current()


@task_prerun.connect
def _bind_task_context(
    task_id: str | None = None, task: Any = None, kwargs: dict[str, Any] | None = None, **_: Any
) -> None:
    shop = (kwargs or {}).get("shop_domain") or (kwargs or {}).get("shop_id")
    bind_log_context(task_id=task_id or str(uuid.uuid4()), task=getattr(task, "name", None), shop=shop)


@task_postrun.connect
def _clear_task_context(**_: Any) -> None:
    clear_log_context()
