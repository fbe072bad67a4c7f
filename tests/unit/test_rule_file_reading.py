"""A rule file is read only when it is a regular file of sane size, and bad bytes are located."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rules.yaml_source import MAX_CHARS


def validate(path: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "rules.yaml"
    os.mkfifo(fifo)
    result = validate(fifo)
    assert result.returncode == 2
    assert "not a regular file" in result.stderr


def test_an_endless_device_is_refused_unread() -> None:
    result = validate("/dev/zero")
    assert result.returncode == 2
    assert "not a regular file" in result.stderr


def test_a_file_far_larger_than_any_rule_file_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "rules.yaml"
    with big.open("wb") as handle:
        handle.truncate(MAX_CHARS * 4 + 10)  # sparse: costs no disk
    result = validate(big)
    assert result.returncode == 2
    assert "larger than" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("content", "where"), [(b"version: 1\nname: caf\xe9\n", "2:10")])
def test_a_byte_that_is_not_utf8_is_located_by_line_and_column(
    tmp_path: Path, content: bytes, where: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(content)
    result = validate(path)
    assert result.returncode == 2
    assert f"{path}:{where}: byte 0xE9 is not UTF-8" in result.stderr
