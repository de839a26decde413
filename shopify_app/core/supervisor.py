"""Keeps `clickstream worker`'s processes running: the event writer and the Celery task worker.

Each runs in a child process. One that exits while the worker is running (a crash, an
out-of-memory kill, an operator's `kill -9`) is started again after a pause that doubles with
each quick failure (1 s up to 30 s) and starts over once a child has run for a minute. Stopping
the worker stops every child and restarts none.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

FIRST_PAUSE_S = 1.0
LONGEST_PAUSE_S = 30.0
HEALTHY_AFTER_S = 60.0
POLL_S = 0.2


@dataclass
class Child:
    """One supervised process: what it runs, and how its runs went so far."""

    name: str
    target: Callable[[], None]
    # Celery's task worker forks its own pool, which a daemonic process may not do.
    daemon: bool = True
    process: multiprocessing.Process | None = None
    started_at: float = 0.0
    quick_failures: int = 0
    restart_at: float | None = None
    exits: list[int | None] = field(default_factory=list)


class Supervisor:
    """Starts `children`, restarts those that exit, stops them all (`say` reports each step)."""

    def __init__(
        self,
        children: list[Child],
        *,
        say: Callable[[str], None] = print,
        first_pause: float = FIRST_PAUSE_S,
        longest_pause: float = LONGEST_PAUSE_S,
        healthy_after: float = HEALTHY_AFTER_S,
    ) -> None:
        self.children = children
        self.say = say
        self.first_pause = first_pause
        self.longest_pause = longest_pause
        self.healthy_after = healthy_after
        self.stopping = False

    def start(self) -> None:
        for child in self.children:
            self._start(child)

    def run(self) -> None:
        """Start the children and keep them running until `stop()` (or an exception, e.g. the
        SystemExit a SIGTERM handler raises), then stop them."""
        self.start()
        try:
            while not self.stopping:
                self.check()
                time.sleep(POLL_S)
        finally:
            self.stop()

    def check(self) -> None:
        """One look at every child: note those that exited, start those whose pause is over."""
        now = time.monotonic()
        for child in self.children:
            process = child.process
            if process is not None and not process.is_alive() and child.restart_at is None:
                self._exited(child, now)
            if child.restart_at is not None and now >= child.restart_at and not self.stopping:
                self._start(child)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop every child: SIGTERM (the task worker finishes its running tasks), SIGKILL after
        `timeout` seconds."""
        self.stopping = True
        running = [child.process for child in self.children if child.process and child.process.is_alive()]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + timeout
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)

    def _start(self, child: Child) -> None:
        process = multiprocessing.Process(
            target=_child_main, args=(child.target,), name=f"clickstream-{child.name}", daemon=child.daemon
        )
        process.start()
        child.process, child.started_at, child.restart_at = process, time.monotonic(), None
        self.say(f"started {child.name} (pid {process.pid})")

    def _exited(self, child: Child, now: float) -> None:
        assert child.process is not None
        code = child.process.exitcode
        child.exits.append(code)
        if self.stopping:
            return
        if now - child.started_at >= self.healthy_after:
            child.quick_failures = 0
        pause = min(self.longest_pause, self.first_pause * 2**child.quick_failures)
        child.quick_failures += 1
        child.restart_at = now + pause
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        self.say(f"{child.name} (pid {child.process.pid}) {how}; restarting it in {pause:g} s")


class _Stop:
    """A child's stop request, held back while it is inside `uninterrupted` blocks."""

    depth = 0  # how many `uninterrupted` blocks are open
    asked = False


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """A block that a SIGTERM to a supervised child does not cut short: the child stops when the
    block ends (a writer's commit and the acknowledgement of what it stored belong together).
    Outside a supervised child, SIGTERM is not ours to handle and the block changes nothing."""
    _Stop.depth += 1
    try:
        yield
    finally:
        _Stop.depth -= 1
        if _Stop.asked and not _Stop.depth:  # also when the block failed: stopping comes first
            raise SystemExit(0)


def _child_main(target: Callable[[], None]) -> None:
    """Run `target` so that SIGTERM ends it cleanly, once: its `finally` blocks (a writer leaving
    its partitions) run even when a second SIGTERM follows, as it does when the whole process
    group is signalled and the supervisor then stops its children. Inside an `uninterrupted`
    block the stop waits for the block's end."""

    def stop_once(_signum: int, _frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _Stop.asked = True
        if not _Stop.depth:
            raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop_once)
    target()
