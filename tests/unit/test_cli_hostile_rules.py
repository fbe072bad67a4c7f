"""Hostile rule files through the CLI: exit 2 with a located message, never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.test_rule_yaml_hostile import billion_laughs, block_mappings, flow_lists
from worker.cli import app

runner = CliRunner()

_HOSTILE = {
    "billion-laughs": (billion_laughs(), ":7:8: expected at most 100,000 keys and values"),
    "recursive-alias": (
        "version: 1\nname: &a [*a]\n",
        ":2:11: expected an alias to a finished value, but *a is inside the value anchored as &a",
    ),
    "self-merge": (
        "version: 1\na: &a {<<: *a}\n",
        ":2:12: expected an alias to a finished value, but *a is inside the value anchored as &a",
    ),
    "500-brackets": (
        "version: 1\nx: " + "[" * 500 + "]" * 500 + "\n",
        ":2:68: expected at most 64 levels of lists and mappings inside each other",
    ),
    "500-braces": (
        "version: 1\nx: " + "{a: " * 500 + "1" + "}" * 500 + "\n",
        ":2:253: expected at most 64 levels of lists and mappings inside each other",
    ),
    "500-block-levels": (
        block_mappings(500),
        ":65:64: expected at most 64 levels of lists and mappings inside each other",
    ),
    "merge-of-a-number": (
        "version: 1\nbalance:\n  <<: 5\n",
        ":3:3: balance.<<: expected a mapping (or a list of mappings) to merge with <<, got 5",
    ),
    "merge-of-a-list-holding-a-number": (
        "version: 1\nbalance:\n  <<: [{tolerance: 0.1}, 5]\n",
        ":3:3: balance.<<: expected a mapping (or a list of mappings) to merge with <<, got 5",
    ),
    "python-tag": (
        "version: 1\nname: !!python/object/apply:os.system [echo]\n",
        ":2:7: expected plain YAML, got the tag !!python/object/apply:os.system on a list",
    ),
    # Larger files are refused before they are read (test_rule_file_reading.py).
    "3-MB-string": (
        "version: 1\nname: " + "x" * 3_000_000 + "\n",
        ":2:1999990: expected a rule file of at most 2,000,000 characters, got 3,000,018",
    ),
    "nul-byte": ("version: 1\nname: a\x00b\n", ":2:8: unreadable character #x0000"),
    "deep-flow-beyond-recursion": (
        flow_lists(100_000),
        ":2:68: expected at most 64 levels of lists and mappings inside each other",
    ),
}


@pytest.mark.parametrize("command", ["validate", "plan"])
@pytest.mark.parametrize("case", sorted(_HOSTILE))
def test_hostile_rule_file_exits_2_with_a_located_error(
    tmp_path: Path, command: str, case: str
) -> None:
    text, expected = _HOSTILE[case]
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    args = [command, str(path)] if command == "validate" else [command, "--rules", str(path)]
    if command == "plan":
        args += ["--source", f"csv:{tmp_path}"]

    started = time.process_time()
    result = runner.invoke(app, args)
    elapsed = time.process_time() - started

    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2
    assert f"{path}{expected}" in result.stderr
    assert "1 problem(s); nothing was applied" in result.stderr
    assert "Traceback" not in result.stderr
    assert elapsed < 2.0, f"took {elapsed:.2f}s of CPU"
