"""`sandbox serve --tls-dir DIR` writes its CA, certificate and key as regular files only.

A symbolic link where one of them goes was written through (the key, made 0600, landed in
whatever file the link named), and a FIFO there blocked the start until some reader came.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

from sandbox.startup import StartupError, write_tls_files

FILES = ("sandbox-ca.pem", "sandbox-cert.pem", "sandbox-key.pem")
# Long enough that a writer blocked on the FIFO is plainly waiting for it, short for a test.
UNBLOCK_AFTER_SECONDS = 3.0


@pytest.mark.parametrize("name", FILES)
def test_a_link_where_a_tls_file_goes_is_refused_and_its_target_untouched(
    tmp_path: Path, name: str
) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n", encoding="utf-8")
    target.chmod(0o644)
    tls = tmp_path / "tls"
    tls.mkdir()
    (tls / name).symlink_to(target)

    refusal = f"--tls-dir {tls}: {name} is a symbolic link"
    with pytest.raises(StartupError, match=f"^{re.escape(refusal)}"):
        write_tls_files(tls, "127.0.0.1")

    assert target.read_text(encoding="utf-8") == "keep me\n"
    assert target.stat().st_mode & 0o777 == 0o644


def test_a_fifo_where_a_tls_file_goes_is_refused_without_waiting_for_a_reader(
    tmp_path: Path,
) -> None:
    tls = tmp_path / "tls"
    tls.mkdir()
    fifo = tls / "sandbox-cert.pem"
    os.mkfifo(fifo)
    timer = threading.Timer(UNBLOCK_AFTER_SECONDS, _drain, args=(fifo,))
    timer.start()

    try:
        with pytest.raises(StartupError, match=r"sandbox-cert\.pem is a FIFO"):
            write_tls_files(tls, "127.0.0.1")
    finally:
        timer.cancel()


def _drain(fifo: Path) -> None:
    """Read `fifo` to its end, so a writer that blocked on it can finish."""
    try:
        descriptor = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return
    os.close(descriptor)
