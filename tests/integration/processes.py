"""Real `territory` processes: one-shot commands, and services (worker, beat, sandbox) that run
in a session of their own, so a test can SIGKILL a whole process group as a crash does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest


def territory_command() -> list[str]:
    """The installed `territory` script beside this Python, else `python -m worker`."""
    script = Path(sys.executable).with_name("territory")
    return [str(script)] if script.exists() else [sys.executable, "-m", "worker"]


def run_territory(
    args: Sequence[str | Path], env: dict[str, str], cwd: Path, *, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `territory ARGS` to its end; return what it printed and its exit status."""
    return subprocess.run(
        [*territory_command(), *map(str, args)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Service:
    """A long-running `territory` process in its own session, logging to a file."""

    def __init__(self, name: str, args: Sequence[str | Path], env: dict[str, str], cwd: Path):
        self.name = name
        self.log_path = cwd / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*territory_command(), *map(str, args)],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pgid(self) -> int:
        """The process group: the service and every child it forked."""
        return self.process.pid  # start_new_session: the leader's pid is the group's id

    def members(self) -> list[int]:
        """Pids of the processes still alive in this service's group (the leader first)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.pgid and fields[0] != "Z":
                found.append(int(entry.name))
        return sorted(found, key=lambda pid: pid != self.pgid)

    def kill_group(self) -> None:
        """SIGKILL the whole group at once (`kill -9 -PGID`): nothing gets to clean up."""
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        self.process.wait(timeout=10)
        wait_until(lambda: not self.members(), 10, lambda: f"{self.name}'s group outlived SIGKILL")

    def stop(self) -> None:
        """Kill the group if it still runs and close the log."""
        self.kill_group()
        self._log.close()

    def running(self) -> bool:
        return self.process.poll() is None

    def log(self, last: int = 60) -> str:
        """The last lines of the service's output."""
        self._log.flush()
        lines = self.log_path.read_text(errors="replace").splitlines()
        return f"--- {self.name} (last {last} lines) ---\n" + "\n".join(lines[-last:])

    def wait_exit(self, timeout: float) -> int:
        """Wait for the service to end by itself; return its exit status."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} still runs after {timeout} s\n{self.log()}")


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    explain: Callable[[], str],
    *,
    every: float = 0.2,
) -> float:
    """Poll `condition` until it holds; return the seconds it took, or fail with `explain()`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"not within {timeout} s: {explain()}")
        time.sleep(every)
    return time.monotonic() - start
