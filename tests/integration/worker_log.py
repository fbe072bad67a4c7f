"""What a worker's log says it received: the task messages delivered to it, with when."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

# Celery's default format: "[2027-01-04 09:00:00,123: INFO/MainProcess] Task NAME[ID] received"
_RECEIVED = re.compile(
    r"^\[(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+: INFO/MainProcess\] "
    r"Task (?P<name>[\w.]+)\[(?P<id>[\w-]+)\] received"
)


def received(log: Path) -> list[tuple[datetime, str, str]]:
    """(local time, task name, task id) of every message the worker received, in order."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        match = _RECEIVED.match(line)
        if match:
            at = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S")
            found.append((at, match["name"], match["id"]))
    return found
