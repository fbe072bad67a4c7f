"""The sandbox's own machinery over real HTTP: ids, the fault spec, the control API, `serve`.

How it answers malformed requests, refuses to start and loads directories is pinned in-process
in tests/sandbox/."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from sandbox.gate import FaultSpecError, parse_faults
from sandbox.loader import load_org
from sandbox.server import RunningSandbox
from tests.connectors.conftest import control, control_headers


def test_org_keeps_hubspot_ids_and_derives_salesforce_ones(sample_org: Path) -> None:
    org = load_org(sample_org)
    first = next(iter(org.companies.values()))
    assert first.hubspot_id == first.key
    assert len(first.salesforce_id) == 18
    assert first.salesforce_id.startswith("001")
    assert len({c.salesforce_id for c in org.companies.values()}) == len(org.companies)
    assert any(u.kind == "QUEUE" for u in org.users.values())
    assert any(not u.active for u in org.users.values())


def test_a_salesforce_flavoured_org_keeps_its_salesforce_ids(tmp_path: Path) -> None:
    from sandbox.sample import write_sample  # noqa: PLC0415

    write_sample(tmp_path / "sf", accounts=40, reps=4, seed=2, flavour="salesforce")
    org = load_org(tmp_path / "sf")
    first = next(iter(org.companies.values()))
    assert first.salesforce_id == first.key
    assert first.hubspot_id.isdigit()


def test_fault_spec_parses_and_rejects_with_the_expected_form() -> None:
    rules = parse_faults("hubspot.*:429=0.2,latency_ms=5; salesforce.collections:partial=0.1")
    assert rules[0].pattern == "hubspot.*"
    assert rules[0].statuses == {429: 0.2}
    assert rules[0].latency_ms == 5
    assert rules[1].partial == 0.1
    for bad in ("nocolon", "x:600=1", "x:429=2", "x:429=abc", "x:latency_ms=-1"):
        with pytest.raises(FaultSpecError, match="fault rule"):
            parse_faults(bad)


def test_control_api_counts_creates_and_edits(sandbox: RunningSandbox) -> None:
    ids = control(sandbox, "GET", "/ids")
    owners = ids["owners"]
    assert isinstance(owners, dict)
    owner = next(iter(owners))
    created = control(sandbox, "POST", "/companies", values={"name": "Newco"}, owner_id=owner)
    key = str(created["id"])
    assert key in sandbox.sandbox.org.companies
    control(sandbox, "POST", f"/companies/{key}/owner", owner_id=owner)
    stats = control(sandbox, "GET", "/stats")
    # A hand edit is not one of our writes.
    assert stats["owner_writes"] == {}
    control(sandbox, "POST", f"/owners/{owner}/deactivate")
    assert not sandbox.sandbox.org.users[owner].active
    reply = requests.post(
        sandbox.info.control_url + "/faults",
        json={"spec": "x:999=1"},
        headers=control_headers(sandbox),
        timeout=5,
    )
    assert reply.status_code == 400
    assert "fault rule" in reply.json()["error"]


def test_create_sends_a_signed_webhook(sandbox_factory, tmp_path: Path) -> None:
    """The webhook body is signed v3 over method + URI + body + timestamp."""
    import base64  # noqa: PLC0415
    import hashlib  # noqa: PLC0415
    import hmac  # noqa: PLC0415
    import threading  # noqa: PLC0415
    from http.server import BaseHTTPRequestHandler, HTTPServer  # noqa: PLC0415

    received: list[tuple[dict[str, str], bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hooks/hubspot"
    running = sandbox_factory(webhook_url=url, webhook_secret="shh")
    control(running, "POST", "/companies", values={"name": "Hooked"})
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:
        time.sleep(0.02)
    server.shutdown()
    assert received, "no webhook arrived"
    headers, body = received[0]
    stamp = headers["X-HubSpot-Request-Timestamp"]
    expected = base64.b64encode(
        hmac.new(b"shh", b"POST" + url.encode() + body + stamp.encode(), hashlib.sha256).digest()
    ).decode()
    assert headers["X-HubSpot-Signature-v3"] == expected
    event = json.loads(body)[0]
    assert event["subscriptionType"] == "company.creation"


def test_serve_prints_one_json_line_first(sample_org: Path, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "worker",
            "sandbox",
            "serve",
            "--data",
            str(sample_org),
            "--tls-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert set(info) == {
            "hubspot_url",
            "hubspot_token",
            "salesforce_url",
            "salesforce_session_id",
            "ca_cert",
            "control_url",
            "control_token",
        }
        assert info["salesforce_url"].startswith("https://127.0.0.1:")
        token = {"Authorization": f"Bearer {info['control_token']}"}
        stats = requests.get(info["control_url"] + "/stats", headers=token, timeout=5).json()
        assert stats["rate_limited"] == 0
        assert Path(info["ca_cert"]).is_file()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_refuses_a_bad_directory_clearly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "worker", "sandbox", "serve", "--data", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "missing companies.csv, owners.csv" in result.stderr
    assert "Traceback" not in result.stderr
