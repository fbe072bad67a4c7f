"""Run the sandbox: HubSpot and the control API over HTTP, Salesforce over HTTPS.

`RunningSandbox` starts both servers on background threads (tests, benchmarks, the demo);
`serve_until_stopped` runs them in the foreground for `territory sandbox serve` until SIGINT
or SIGTERM, and removes its temporary TLS directory (the CA key with it) either way. Everything is
checked and bound before anything is announced, so the ports in `SandboxInfo` are live, and a
refusal is a `StartupError` of one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from sandbox import control, hubspot, salesforce_api
from sandbox.gate import Gate, Limits, parse_faults
from sandbox.loader import load_org
from sandbox.org import organization_id
from sandbox.startup import (
    StartupError,
    bind,
    check_port,
    exposure_warning,
    write_tls_files,
)
from sandbox.state import DEFAULT_PORTAL_ID, Sandbox, new_secret

CONTROL_PATH = "/_sandbox"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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
    portal_id: int = DEFAULT_PORTAL_ID  # the HubSpot portal id served (a ledger binds to it)
    salesforce_org_id: str | None = None  # the Salesforce org id served (None: from portal_id)


@dataclass(frozen=True, slots=True)
class SandboxInfo:
    """The first line `territory sandbox serve` prints (as JSON)."""

    hubspot_url: str
    hubspot_token: str
    salesforce_url: str
    salesforce_session_id: str
    ca_cert: str
    control_url: str
    control_token: str  # `Authorization: Bearer <control_token>` on every control call

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
        portal_id=config.portal_id,
        salesforce_org_id=config.salesforce_org_id or organization_id(config.portal_id),
        webhook_url=config.webhook_url,
        webhook_secret=config.webhook_secret,
    )


def check_limits(limits: Limits) -> None:
    """Refuse limits the control API would refuse (a NaN or endless window, say): served, they
    would turn every HubSpot answer into a 500."""
    try:
        control.checked_limits(asdict(limits), Limits())
    except control.BadControlRequestError as exc:
        raise StartupError(f"limits: {exc}") from None


def apps(sandbox: Sandbox) -> tuple[Starlette, Starlette]:
    """The two ASGI apps: HubSpot with the control API under `CONTROL_PATH`, and Salesforce."""
    http_app = Starlette(
        routes=[Mount(CONTROL_PATH, routes=control.routes(sandbox)), *hubspot.routes(sandbox)]
    )
    return http_app, Starlette(routes=salesforce_api.routes(sandbox))


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals alone: `serve_until_stopped` stops both servers at once.

    Each uvicorn server catches SIGTERM itself and, once stopped, raises it again with the
    previous handler back in place; with two servers the second raise meets the default
    handler, which kills the process before its temporary directory is removed.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _quiet_server(app: Starlette, tls: tuple[Path, Path] | None = None) -> _Server:
    """A server that logs only warnings; over TLS with `tls` = (certificate chain, key)."""
    chain, key = tls or (None, None)
    return _Server(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            # Idle keep-alive (TLS) connections must not hold a shutdown for long.
            timeout_graceful_shutdown=2,
            ssl_certfile=chain,
            ssl_keyfile=key,
        )
    )


class RunningSandbox:
    """Both servers on one event loop, in a background thread or in the foreground."""

    def __init__(self, config: SandboxConfig) -> None:
        """Check the config, load the org, write the TLS files and bind both ports.

        Raise StartupError (one line) when any of it fails; nothing is left behind then.
        """
        check_port("--port", config.port)
        check_port("--salesforce-port", config.salesforce_port)
        check_limits(config.limits)
        self.config = config
        self.sandbox = build(config)
        self.warnings = [
            *filter(None, [exposure_warning(config.host)]),
            *self.sandbox.org.load_warnings,
        ]
        self._temp: tempfile.TemporaryDirectory[str] | None = None
        self._sockets: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self.serving = False
        try:
            self._start_up(config)
        except BaseException:
            self.release()
            raise

    def _start_up(self, config: SandboxConfig) -> None:
        tls_dir = config.tls_dir
        if tls_dir is None:
            self._temp = tempfile.TemporaryDirectory(prefix="territory-sandbox-")
            tls_dir = Path(self._temp.name)
        ca, chain, key = write_tls_files(tls_dir, config.host)
        self._sockets.append(bind(config.host, config.port, "--port"))
        self._sockets.append(bind(config.host, config.salesforce_port, "--salesforce-port"))
        http_port, https_port = (sock.getsockname()[1] for sock in self._sockets)
        sandbox = self.sandbox
        # An IPv6 literal goes in brackets in a URL: "http://::1:80" is no URL.
        host = f"[{config.host}]" if ":" in config.host else config.host
        sandbox.hubspot_url = f"http://{host}:{http_port}"
        sandbox.salesforce_url = f"https://{host}:{https_port}"
        self.info = SandboxInfo(
            hubspot_url=sandbox.hubspot_url,
            hubspot_token=sandbox.hubspot_token,
            salesforce_url=sandbox.salesforce_url,
            salesforce_session_id=sandbox.salesforce_session_id,
            ca_cert=str(ca),
            control_url=f"{sandbox.hubspot_url}{CONTROL_PATH}",
            control_token=sandbox.control_token,
        )
        http_app, https_app = apps(sandbox)
        self._servers = [_quiet_server(http_app), _quiet_server(https_app, tls=(chain, key))]

    def release(self) -> None:
        """Close the sockets and remove the temporary TLS directory (the CA key with it)."""
        for sock in self._sockets:
            sock.close()
        if self._temp is not None:
            self._temp.cleanup()

    async def _serve(self) -> None:
        http, https = self._servers
        http_sock, https_sock = self._sockets
        await asyncio.gather(http.serve(sockets=[http_sock]), https.serve(sockets=[https_sock]))

    def start(self) -> RunningSandbox:
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
        self.release()

    def serve_forever(self) -> None:
        """Serve in the foreground until `stop_serving`; then release everything."""
        self.serving = True
        try:
            asyncio.run(self._serve())
        finally:
            self.release()

    def stop_serving(self, sig: int) -> None:
        """Ask both servers to stop (a second SIGINT: without waiting for open connections)."""
        again = any(server.should_exit for server in self._servers)
        for server in self._servers:
            server.should_exit = True
            if again and sig == signal.SIGINT:
                server.force_exit = True

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


class _StoppedError(Exception):
    """A stop signal arrived before the servers were serving."""


def serve_until_stopped(config: SandboxConfig, announce: Callable[[RunningSandbox], None]) -> None:
    """`territory sandbox serve`: start, `announce`, serve until SIGINT or SIGTERM.

    Stop signals are caught from the first moment, so one that arrives while the org loads or
    the announcement is written ends the run as quietly as one that arrives later, and the
    temporary TLS directory (the CA key with it) is removed either way. Raise StartupError
    (one line) when the sandbox cannot start.
    """
    running: RunningSandbox | None = None

    def on_signal(sig: int, _: FrameType | None) -> None:
        if running is None or not running.serving:
            raise _StoppedError
        running.stop_serving(sig)

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        running = RunningSandbox(config)
        announce(running)
        running.serve_forever()
    except _StoppedError:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if running is not None:
            running.release()
