"""Run the sandbox: HubSpot and the control API over HTTP, Salesforce over HTTPS.

`RunningSandbox` starts both servers on background threads (tests, benchmarks, the demo);
`serve` runs them in the foreground for `territory sandbox serve`. Either way the servers bind
before anything is announced, so the ports in `SandboxInfo` are live.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import trustme
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from sandbox import control, hubspot, salesforce_api
from sandbox.gate import Gate, Limits, parse_faults
from sandbox.org import load_org
from sandbox.state import Sandbox, new_secret

CONTROL_PATH = "/_sandbox"


@dataclass(slots=True)
class SandboxConfig:
    """Everything `territory sandbox serve` takes."""

    data: Path
    host: str = "127.0.0.1"
    port: int = 0  # HTTP (HubSpot + control); 0 picks a free port
    salesforce_port: int = 0  # HTTPS; 0 picks a free port
    limits: Limits = field(default_factory=Limits)
    faults: str = ""
    seed: int = 0
    search_lag: float = 0.0
    webhook_url: str | None = None
    webhook_secret: str | None = None
    tls_dir: Path | None = None  # where the CA and certificate are written (a temp dir if None)


@dataclass(frozen=True, slots=True)
class SandboxInfo:
    """The first line `territory sandbox serve` prints (as JSON)."""

    hubspot_url: str
    hubspot_token: str
    salesforce_url: str
    salesforce_session_id: str
    ca_cert: str
    control_url: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def build(config: SandboxConfig) -> Sandbox:
    """Load the org and wire the gate; nothing is bound yet."""
    org = load_org(config.data, search_lag=config.search_lag)
    gate = Gate(org, config.limits, parse_faults(config.faults), seed=config.seed)
    return Sandbox(
        org=org,
        gate=gate,
        hubspot_token=new_secret("pat-sandbox-"),
        salesforce_session_id=new_secret("00D"),
        webhook_url=config.webhook_url,
        webhook_secret=config.webhook_secret,
    )


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _tls_files(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate it signed for `host`: (ca, chain, key)."""
    ca = trustme.CA(organization_name="territory-sync sandbox")
    cert = ca.issue_cert(host, "localhost", "127.0.0.1")
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, chain_path, key_path = (
        directory / "sandbox-ca.pem",
        directory / "sandbox-cert.pem",
        directory / "sandbox-key.pem",
    )
    ca.cert_pem.write_to_path(str(ca_path))
    cert.private_key_pem.write_to_path(str(key_path))
    with chain_path.open("wb") as handle:
        for blob in cert.cert_chain_pems:
            handle.write(blob.bytes())
    key_path.chmod(0o600)
    return ca_path, chain_path, key_path


class RunningSandbox:
    """Both servers on one event loop in a background thread."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.sandbox = build(config)
        self._temp: tempfile.TemporaryDirectory[str] | None = None
        tls_dir = config.tls_dir
        if tls_dir is None:
            self._temp = tempfile.TemporaryDirectory(prefix="territory-sandbox-")
            tls_dir = Path(self._temp.name)
        ca, chain, key = _tls_files(tls_dir, config.host)
        self._http_sock = _bind(config.host, config.port)
        self._https_sock = _bind(config.host, config.salesforce_port)
        http_port = self._http_sock.getsockname()[1]
        https_port = self._https_sock.getsockname()[1]
        sandbox = self.sandbox
        sandbox.hubspot_url = f"http://{config.host}:{http_port}"
        sandbox.salesforce_url = f"https://{config.host}:{https_port}"
        self.info = SandboxInfo(
            hubspot_url=sandbox.hubspot_url,
            hubspot_token=sandbox.hubspot_token,
            salesforce_url=sandbox.salesforce_url,
            salesforce_session_id=sandbox.salesforce_session_id,
            ca_cert=str(ca),
            control_url=f"{sandbox.hubspot_url}{CONTROL_PATH}",
        )
        http_app = Starlette(
            routes=[
                Mount(CONTROL_PATH, routes=control.routes(sandbox)),
                *hubspot.routes(sandbox),
            ]
        )
        https_app = Starlette(routes=salesforce_api.routes(sandbox))
        quiet = {
            "log_level": "warning",
            "access_log": False,
            "lifespan": "off",
            # Idle keep-alive (TLS) connections must not hold a shutdown for long.
            "timeout_graceful_shutdown": 2,
        }
        self._servers = [
            uvicorn.Server(uvicorn.Config(http_app, **quiet)),  # type: ignore[arg-type]
            uvicorn.Server(
                uvicorn.Config(
                    https_app,
                    ssl_certfile=str(chain),
                    ssl_keyfile=str(key),
                    **quiet,  # type: ignore[arg-type]
                )
            ),
        ]
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    async def _serve(self) -> None:
        http, https = self._servers
        await asyncio.gather(
            http.serve(sockets=[self._http_sock]), https.serve(sockets=[self._https_sock])
        )

    def start(self) -> RunningSandbox:
        # uvicorn only captures signals on the main thread; this one is not.
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve()), name="territory-sandbox", daemon=True
        )
        self._thread.start()
        while not all(s.started for s in self._servers):
            if not self._thread.is_alive():
                raise RuntimeError("the sandbox failed to start (see the log above)")
            threading.Event().wait(0.01)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
            # Do not wait for idle keep-alive connections: a TLS one waits for a close_notify
            # that a client holding its pooled connection never sends (10 s per test).
            server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        for sock in (self._http_sock, self._https_sock):
            sock.close()
        if self._temp is not None:
            self._temp.cleanup()

    def serve_forever(self) -> None:
        """Foreground: returns when interrupted (Ctrl-C / SIGTERM)."""
        try:
            asyncio.run(self._serve())
        finally:
            for sock in (self._http_sock, self._https_sock):
                sock.close()
            if self._temp is not None:
                self._temp.cleanup()

    def __enter__(self) -> RunningSandbox:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


@contextmanager
def running_sandbox(config: SandboxConfig) -> Iterator[RunningSandbox]:
    """`with running_sandbox(config) as sb:` … `sb.info.hubspot_url` …"""
    sandbox = RunningSandbox(config)
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()
