"""Starting and stopping the sandbox: refusals are one line, warnings say what is exposed, and
the temporary TLS directory (the CA key with it) is gone however the server stops."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.gate import Limits
from sandbox.org import OrgLoadError
from sandbox.server import RunningSandbox, SandboxConfig
from sandbox.startup import StartupError, exposure_warning
from tests.sandbox.conftest import COMPANIES, write_org

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The directory temporary directories are made in, for this test alone."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


@pytest.mark.parametrize(
    ("option", "port"),
    [("port", 65_536), ("port", -1), ("salesforce_port", 70_000), ("salesforce_port", 10**20)],
)
def test_a_port_out_of_range_is_refused_in_one_line(tiny_org: Path, option: str, port: int) -> None:
    settings: dict[str, Any] = {option: port}
    with pytest.raises(StartupError) as refused:
        RunningSandbox(SandboxConfig(data=tiny_org, **settings))
    flag = "--" + option.replace("_", "-")
    assert str(refused.value) == (
        f"{flag} {port}: a port is a number from 1 to 65535 (0 picks a free one)"
    )


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), 1e308, 0.0])
def test_a_window_no_client_could_live_with_is_refused_in_one_line(
    tiny_org: Path, private_tmp: Path, seconds: float
) -> None:
    with pytest.raises(StartupError) as refused:
        RunningSandbox(SandboxConfig(data=tiny_org, limits=Limits(window_seconds=seconds)))
    assert str(refused.value).startswith("limits: window_seconds: expected a number of seconds")
    assert list(private_tmp.iterdir()) == []


def test_a_port_in_use_is_refused_and_leaves_no_temporary_directory(
    tiny_org: Path, private_tmp: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(StartupError, match=rf"^--salesforce-port {port}: cannot listen on"):
            RunningSandbox(SandboxConfig(data=tiny_org, salesforce_port=port))
    assert list(private_tmp.iterdir()) == []


def test_a_tls_directory_that_cannot_be_written_is_refused_in_one_line(
    tiny_org: Path, tmp_path: Path
) -> None:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a directory", encoding="utf-8")
    for tls_dir in (in_the_way, in_the_way / "tls"):
        with pytest.raises(StartupError) as refused:
            RunningSandbox(SandboxConfig(data=tiny_org, tls_dir=tls_dir))
        message = str(refused.value)
        assert message.startswith(f"--tls-dir {tls_dir}: cannot write the CA and certificate")
        assert "\n" not in message


def test_a_companies_file_that_is_not_utf8_is_refused_naming_the_row(tmp_path: Path) -> None:
    write_org(tmp_path, companies=[*COMPANIES, ("1000000005", "Müller GmbH", *[""] * 10)])
    path = tmp_path / "companies.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    with pytest.raises(OrgLoadError, match=r"^companies\.csv: (line|row) 6: .*UTF-8") as refused:
        RunningSandbox(SandboxConfig(data=tmp_path))
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost", "LOCALHOST"])
def test_a_loopback_host_is_not_warned_about(host: str) -> None:
    assert exposure_warning(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.1", "sandbox.lan"])
def test_any_other_host_is_warned_about(host: str) -> None:
    warning = exposure_warning(host)
    assert warning is not None
    assert warning.startswith(f"warning: --host {host} is not a loopback interface")


def test_a_sandbox_on_every_interface_carries_the_warning(tiny_org: Path, tmp_path: Path) -> None:
    running = RunningSandbox(SandboxConfig(data=tiny_org, host="0.0.0.0", tls_dir=tmp_path / "tls"))
    try:
        assert [w.split(":")[0] for w in running.warnings] == ["warning"]
    finally:
        running.stop()


# ---- the command ------------------------------------------------------------------------------


def serve(*arguments: str, temp: Path | None = None) -> subprocess.Popen[str]:
    """`territory sandbox serve` in its own process; its temporary directories go in `temp`."""
    env = dict(os.environ, TMPDIR=str(temp)) if temp else None
    return subprocess.Popen(
        [sys.executable, "-m", "worker", "sandbox", "serve", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


@pytest.fixture
def served(tiny_org: Path, private_tmp: Path) -> Iterator[subprocess.Popen[str]]:
    process = serve("--data", str(tiny_org), temp=private_tmp)
    yield process
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_removes_the_temporary_tls_directory(
    served: subprocess.Popen[str], private_tmp: Path, stop: signal.Signals
) -> None:
    assert served.stdout is not None
    info = json.loads(served.stdout.readline())
    tls_dir = Path(info["ca_cert"]).parent
    assert tls_dir.parent == private_tmp
    assert (tls_dir / "sandbox-key.pem").is_file()
    served.send_signal(stop)
    assert served.wait(timeout=15) == 0
    assert not tls_dir.exists()
    assert served.stderr is not None
    assert "Traceback" not in served.stderr.read()


def test_the_command_refuses_a_bad_option_in_one_line(tiny_org: Path) -> None:
    process = serve("--data", str(tiny_org), "--port", "99999")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert out == ""
    assert err == "error: --port 99999: a port is a number from 1 to 65535 (0 picks a free one)\n"


def test_the_command_prints_the_exposure_warning(tiny_org: Path, tmp_path: Path) -> None:
    process = serve("--data", str(tiny_org), "--host", "0.0.0.0", "--tls-dir", str(tmp_path))
    try:
        assert process.stdout is not None
        assert json.loads(process.stdout.readline())["hubspot_url"].startswith("http://0.0.0.0:")
        process.terminate()
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert "warning: --host 0.0.0.0 is not a loopback interface" in err
