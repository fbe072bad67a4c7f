"""`sandbox serve --host ::1` (a loopback the docs name) prints URLs a client can use.

The URLs read `http://::1:PORT`, which no HTTP client parses (territory's own settings
refused it: "empty host"); an IPv6 literal in a URL goes in brackets.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests

from sandbox.server import SandboxConfig, running_sandbox
from tests.sandbox.conftest import write_org


def ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback_available(), reason="no IPv6 loopback here")
def test_urls_on_the_ipv6_loopback_bracket_the_address_and_answer(tmp_path: Path) -> None:
    org = write_org(tmp_path / "org")

    with running_sandbox(SandboxConfig(data=org, host="::1")) as running:
        info = running.info
        assert info.hubspot_url.startswith("http://[::1]:")
        assert info.salesforce_url.startswith("https://[::1]:")
        assert info.control_url.startswith("http://[::1]:")
        answer = requests.get(
            f"{info.hubspot_url}/crm/v3/owners",
            headers={"Authorization": f"Bearer {info.hubspot_token}"},
            timeout=10,
        )
    assert answer.status_code == 200
