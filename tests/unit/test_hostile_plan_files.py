"""`territory explain --plan` reads only a regular file: a FIFO blocked it until some writer
came, and a device such as /dev/zero was read until memory ran out."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from tests.unit.cli_runs import run

# Long enough that a reader blocked on the FIFO is plainly waiting for it, short for a test.
UNBLOCK_AFTER_SECONDS = 3.0


def unblock_later(fifo: Path) -> threading.Timer:
    """Open `fifo` for writing after a while, so a reader that blocked on it gets EOF."""

    def open_and_close() -> None:
        try:
            descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return  # nobody is reading: the command did not block
        os.close(descriptor)

    timer = threading.Timer(UNBLOCK_AFTER_SECONDS, open_and_close)
    timer.start()
    return timer


def test_explain_refuses_a_fifo_as_plan_without_waiting_for_a_writer(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    os.mkfifo(plan)
    timer = unblock_later(plan)

    result = run("explain", "C001", "--plan", plan)
    timer.cancel()

    assert result.exit_code == 2, result.output
    assert f"{plan}: not a regular file; expected a plan.json file" in result.output


def test_explain_refuses_a_device_as_plan(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    try:
        # The null device's numbers: reading it ends at once, so a regression cannot hang.
        os.mknod(plan, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("cannot make a device node here")

    result = run("explain", "C001", "--plan", plan)

    assert result.exit_code == 2, result.output
    assert f"{plan}: not a regular file; expected a plan.json file" in result.output
