"""Real processes for tests: the Celery worker, the event writer, the web server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CLICKSTREAM = str(Path(sys.executable).with_name("clickstream"))


def process_env(**values: str) -> dict[str, str]:
    """The environment for a child process: ours plus `values`, in the testing profile."""
    env = {**os.environ, "CLICKSTREAM_ENV": "testing", "PYTHONUNBUFFERED": "1"}
    # A collector's spool of its own: one test's server never ships another's leftovers.
    env["INGEST_SPOOL_DIR"] = tempfile.mkdtemp(prefix="cs-spool-")
    env.update(values)
    return env


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """A child process whose output is collected so a test can wait for a line."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            args,
            env=env,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line.rstrip())

    @property
    def output(self) -> str:
        """Everything it printed so far."""
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Block until a line containing `text` appears, or fail with the output."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.popen.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"did not see {text!r}; output:\n{self.output[-4000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the whole process group."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
        self.popen.wait(timeout=30)

    def stop(self) -> None:
        """Stop gracefully, then forcefully, and release the output pipe."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reader.join(timeout=5)
        if self.popen.stdout is not None:
            self.popen.stdout.close()


@contextmanager
def clickstream(*args: str, env: dict[str, str], ready: str, timeout: float = 90) -> Iterator[Process]:
    """Run `clickstream ARGS` until the block ends, once it printed `ready`."""
    process = Process([CLICKSTREAM, *args], env)
    try:
        process.wait_for(ready, timeout=timeout)
        yield process
    finally:
        process.stop()


def wait_until(predicate, timeout: float = 30, interval: float = 0.1, message: str = "condition") -> None:  # type: ignore[no-untyped-def]
    """Poll `predicate()` until true, or fail naming `message`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")
