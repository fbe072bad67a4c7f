"""`territory sandbox serve` in its own process, so the server and the client under measure
never share a Python interpreter (or its lock)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def sandbox_process(data: Path, tls_dir: Path, *options: str) -> Iterator[dict[str, str]]:
    """Start the sandbox on `data` with extra CLI `options`; yield its first-line JSON."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "worker",
            "sandbox",
            "serve",
            "--data",
            str(data),
            "--tls-dir",
            str(tls_dir),
            *options,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox exited before printing its address")
        yield json.loads(line)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def control(info: dict[str, str], method: str, path: str, **body: Any) -> Any:
    """Call the control API; raise on an error status."""
    reply = requests.request(
        method,
        info["control_url"] + path,
        json=body or None,
        headers={"Authorization": f"Bearer {info['control_token']}"},
        timeout=60,
    )
    reply.raise_for_status()
    return reply.json()
