"""What the sandbox checks before it serves anything, and how it refuses: one line, no traceback.

Every refusal is a `StartupError` whose message names the option or file at fault and what to
change; the CLI prints it as it is. Warnings (an exposed interface, rows the CSV source skipped)
are returned as lines for the caller to print.
"""

from __future__ import annotations

import ipaddress
import socket
import stat
from pathlib import Path
from typing import Final

import trustme

MAX_PORT: Final = 65_535


class StartupError(Exception):
    """The sandbox cannot start; the message is one line saying why and what to change."""


def check_port(option: str, port: int) -> None:
    """Refuse a port no socket can bind (0 asks the system for a free one)."""
    if not 0 <= port <= MAX_PORT:
        raise StartupError(
            f"{option} {port}: a port is a number from 1 to {MAX_PORT} (0 picks a free one)"
        )


def exposure_warning(host: str) -> str | None:
    """A warning when `host` is not a loopback interface: the sandbox then serves the network."""
    if host.lower() == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass  # a host name: it may resolve to anything, so it is warned about
    return (
        f"warning: --host {host} is not a loopback interface: anyone who can reach it can read "
        "the org and, with the printed credentials, change it (use --host 127.0.0.1 unless "
        "another machine must reach the sandbox)"
    )


def bind(host: str, port: int, option: str) -> socket.socket:
    """A listening, non-blocking socket on `host`:`port`; StartupError naming `option`."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        raise StartupError(f"--host {host}: cannot resolve it ({_reason(exc)})") from None
    family, kind, protocol, _, address = infos[0]
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise StartupError(
            f"{option} {port}: cannot listen on {host}:{port} ({_reason(exc)})"
        ) from None
    sock.setblocking(False)
    return sock


def write_tls_files(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate it signed for `host`, written to `directory`.

    Return (CA, chain, key) paths; raise StartupError when the directory cannot be written.
    """
    ca = trustme.CA(organization_name="territory-sync sandbox")
    cert = ca.issue_cert(host, "localhost", "127.0.0.1")
    ca_path, chain_path, key_path = (
        directory / "sandbox-ca.pem",
        directory / "sandbox-cert.pem",
        directory / "sandbox-key.pem",
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path in (ca_path, chain_path, key_path):
            _refuse_non_regular(directory, path)
        ca.cert_pem.write_to_path(str(ca_path))
        # The key is private from its first byte: created 0600, never widened.
        key_path.touch(mode=0o600)
        key_path.chmod(0o600)
        cert.private_key_pem.write_to_path(str(key_path))
        with chain_path.open("wb") as handle:
            for blob in cert.cert_chain_pems:
                handle.write(blob.bytes())
    except OSError as exc:
        raise StartupError(
            f"--tls-dir {directory}: cannot write the CA and certificate there ({_reason(exc)})"
        ) from None
    return ca_path, chain_path, key_path


def _refuse_non_regular(directory: Path, path: Path) -> None:
    """Refuse a link, FIFO or device where a TLS file goes: writing would go through the link
    (the key into whatever file it names) or block on the FIFO until some reader came."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISREG(mode):
        return
    kind = "not a regular file"
    if stat.S_ISLNK(mode):
        kind = "a symbolic link"
    elif stat.S_ISFIFO(mode):
        kind = "a FIFO (named pipe)"
    raise StartupError(
        f"--tls-dir {directory}: {path.name} is {kind}; the sandbox writes its CA, "
        "certificate and key there as regular files only: remove it or choose another directory"
    )


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)
