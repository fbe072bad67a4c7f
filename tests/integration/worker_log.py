"""What the logs of `territory worker` and `territory beat` say happened, and when (local time,
as Celery logs it)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

# Celery's default format: "[2027-01-04 09:00:00,123: INFO/MainProcess] Task NAME[ID] received"
_LINE = re.compile(r"^\[(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+): \w+/[\w-]+\] (?P<text>.*)$")
_TASK = re.compile(r"^Task (?P<name>[\w.]+)\[(?P<id>[\w-]+)\] (?P<what>received|succeeded|retry)")


def _lines(log: Path) -> list[tuple[datetime, str]]:
    found = []
    for line in log.read_text(errors="replace").splitlines():
        match = _LINE.match(line)
        if match:
            at = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f")
            found.append((at, match["text"]))
    return found


def received(log: Path) -> list[tuple[str, str]]:
    """(task name, task id) of every message the worker received, in order."""
    return [
        (m["name"], m["id"])
        for _, text in _lines(log)
        if (m := _TASK.match(text)) and m["what"] == "received"
    ]


def ended(log: Path) -> set[str]:
    """Ids of the task messages whose run ended (succeeded, or retried later)."""
    return {
        m["id"] for _, text in _lines(log) if (m := _TASK.match(text)) and m["what"] != "received"
    }


def first(log: Path, text: str) -> datetime | None:
    """When the log first said `text`."""
    return next((at for at, said in _lines(log) if said.startswith(text)), None)
