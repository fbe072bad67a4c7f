"""Fixtures shared by the connector tests: a sample org and a running sandbox CRM.

The sandbox runs in-process on free ports with scaled-down limits (a 1 s window), so tests are
fast and never share state; `sandbox_factory` builds one with other settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.gate import Limits
from sandbox.sample import write_sample
from sandbox.server import RunningSandbox, SandboxConfig

SMALL_ORG = {"accounts": 300, "reps": 8, "seed": 11}


@pytest.fixture(scope="session")
def sample_org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small HubSpot-flavoured sample org (CSV + rules.yaml), shared read-only."""
    out = tmp_path_factory.mktemp("org") / "org"
    write_sample(out, flavour="hubspot", **SMALL_ORG)
    return out


def ci_limits(**overrides: object) -> Limits:
    """Limits scaled down for CI: 1 s window, a low search cap."""
    limits = Limits(limit_per_window=50, window_seconds=1.0, search_per_second=20, search_cap=500)
    for key, value in overrides.items():
        setattr(limits, key, value)
    return limits


@pytest.fixture
def sandbox_factory(sample_org: Path, tmp_path: Path) -> Iterator[Callable[..., RunningSandbox]]:
    """Start sandboxes with any `SandboxConfig` settings; all are stopped after the test."""
    started: list[RunningSandbox] = []

    def start(**settings: Any) -> RunningSandbox:
        settings.setdefault("data", sample_org)
        settings.setdefault("limits", ci_limits())
        settings.setdefault("tls_dir", tmp_path / f"tls{len(started)}")
        running = RunningSandbox(SandboxConfig(**settings))
        running.start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def sandbox(sandbox_factory: Callable[..., RunningSandbox]) -> RunningSandbox:
    """A fresh sandbox serving `sample_org` with CI limits."""
    return sandbox_factory()


def control_headers(sandbox: RunningSandbox) -> dict[str, str]:
    """The header every control API call carries: the token the sandbox printed."""
    return {"Authorization": f"Bearer {sandbox.info.control_token}"}


def control(sandbox: RunningSandbox, method: str, path: str, **json: object) -> dict[str, object]:
    """Call the sandbox's control API; raise on an error status."""
    reply = requests.request(
        method,
        sandbox.info.control_url + path,
        json=json or None,
        headers=control_headers(sandbox),
        timeout=10,
    )
    reply.raise_for_status()
    body: dict[str, object] = reply.json()
    return body


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A private redis-server for this test (skipped when the binary is missing)."""
    from tests.support.redis_server import redis_server  # noqa: PLC0415

    with redis_server(tmp_path) as url:
        yield url
