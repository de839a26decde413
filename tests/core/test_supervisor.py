"""`clickstream worker`'s supervisor, with real child processes."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from shopify_app.core.supervisor import Child, Supervisor, uninterrupted
from tests.support.processes import wait_until


def _quits() -> None:
    raise SystemExit(3)


def _runs() -> None:
    while True:
        time.sleep(1)


@contextlib.contextmanager
def _supervising(*children: Child, **options: float) -> Iterator[tuple[Supervisor, list[str]]]:
    """A started supervisor of `children` and what it said; its children stopped afterwards."""
    said: list[str] = []
    supervisor = Supervisor(list(children), say=said.append, **options)
    supervisor.start()
    try:
        yield supervisor, said
    finally:
        supervisor.stop(timeout=5)


def _watch(supervisor: Supervisor, until: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:  # type: ignore[operator]
        supervisor.check()
        time.sleep(0.01)


def test_a_child_that_keeps_failing_is_restarted_after_doubling_pauses() -> None:
    child = Child("flaky", _quits)
    with _supervising(child, first_pause=0.05, longest_pause=0.2) as (supervisor, said):
        _watch(supervisor, lambda: len(child.exits) >= 5)
    assert child.exits[:5] == [3] * 5
    pauses = [line.rsplit(" in ", 1)[1] for line in said if "restarting" in line][:5]
    assert pauses == ["0.05 s", "0.1 s", "0.2 s", "0.2 s", "0.2 s"]
    assert said[0].startswith("started flaky (pid ")
    assert said[1].endswith("exited with code 3; restarting it in 0.05 s")


def test_a_killed_child_comes_back_as_a_new_process_and_its_pauses_start_over_after_a_healthy_run() -> None:
    child = Child("writer", _runs)
    with _supervising(child, first_pause=0.05, healthy_after=0.5) as (supervisor, said):
        for round_ in range(3):
            assert child.process is not None
            first = child.process.pid
            time.sleep(0.6 if round_ == 2 else 0)  # the third run lasts past `healthy_after`
            os.kill(first, signal.SIGKILL)  # type: ignore[arg-type]
            _watch(supervisor, lambda gone=first: child.process is not None and child.process.pid != gone)
            assert f"writer (pid {first}) was killed by signal 9" in said[-2]
            assert child.process.is_alive()
    pauses = [line.rsplit(" in ", 1)[1] for line in said if "restarting" in line]
    assert pauses == ["0.05 s", "0.1 s", "0.05 s"]


def test_stopping_ends_every_child_and_restarts_none() -> None:
    said: list[str] = []
    children = [Child("writer", _runs), Child("tasks", _runs, daemon=False)]
    supervisor = Supervisor(children, say=said.append, first_pause=0.01)
    supervisor.start()
    processes = [child.process for child in children]
    supervisor.stop(timeout=5)
    assert all(process is not None and not process.is_alive() for process in processes)
    supervisor.check()
    time.sleep(0.05)
    supervisor.check()
    assert [child.process for child in children] == processes, "nothing started after stop()"
    assert not any("restarting" in line for line in said)


def test_run_stops_the_children_when_the_worker_is_told_to_exit() -> None:
    child = Child("writer", _runs)
    supervisor = Supervisor([child], say=lambda _: None)

    def exit_soon(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGALRM, exit_soon)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with contextlib.suppress(SystemExit):
            supervisor.run()
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert child.process is not None
    wait_until(lambda: not child.process.is_alive(), timeout=5, message="the child stopped")
    assert child.process.exitcode == 0, "SIGTERM ends a child cleanly"


def _cleans_up(marker: Path) -> None:
    try:
        _runs()
    finally:
        time.sleep(0.3)  # e.g. a writer giving up its partitions
        marker.write_text("done")


def test_a_second_sigterm_does_not_cut_a_childs_cleanup_short(tmp_path: Path) -> None:
    marker = tmp_path / "cleaned-up"
    child = Child("writer", partial(_cleans_up, marker))
    with _supervising(child):  # its end stops the child: the supervisor's own SIGTERM ...
        assert child.process is not None
        time.sleep(0.2)
        os.kill(child.process.pid, signal.SIGTERM)  # type: ignore[arg-type]  # ... after the process group's
        time.sleep(0.05)
    assert marker.read_text() == "done"
    assert child.process.exitcode == 0


def _commits_then_acknowledges(marker: Path) -> None:
    with uninterrupted():  # e.g. a writer's commit and the acknowledgement of what it stored
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.3)
        marker.write_text("acknowledged")
    marker.write_text("went on after the stop")  # never reached
    _runs()


def test_a_stop_asked_for_inside_an_uninterrupted_block_comes_at_the_blocks_end(tmp_path: Path) -> None:
    marker = tmp_path / "step"
    child = Child("writer", partial(_commits_then_acknowledges, marker))
    with _supervising(child):
        assert child.process is not None
        wait_until(lambda: not child.process.is_alive(), timeout=5, message="the child stopped")  # type: ignore[union-attr]
    assert marker.read_text() == "acknowledged"
    assert child.process.exitcode == 0
