"""Rule-file text for tests: the reference example, one-line edits of it, and its issues."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from rules.errors import RuleError
from rules.loader import LoadedRules, load_rules

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "rules.yaml"
FILE = "rules.yaml"


@cache
def example_text() -> str:
    """The example rule file the project ships (examples/rules.yaml)."""
    return EXAMPLE.read_text(encoding="utf-8")


def edited(old: str, new: str, text: str | None = None) -> str:
    """The example (or `text`) with the one occurrence of `old` replaced by `new`."""
    base = example_text() if text is None else text
    count = base.count(old)
    assert count == 1, f"expected {old!r} exactly once in the rule file, found it {count} times"
    return base.replace(old, new)


def load(text: str) -> LoadedRules:
    """Load `text` as rules.yaml; a RuleError fails the test with every issue."""
    try:
        return load_rules(text, FILE)
    except RuleError as exc:
        pytest.fail(f"expected a valid rule file, got:\n{exc}")


def issues_of(text: str) -> list[str]:
    """Every issue `load_rules` reports for `text`, as printed: FILE:LINE:COL: path: message."""
    with pytest.raises(RuleError) as caught:
        load_rules(text, FILE)
    return [str(issue) for issue in caught.value.issues]


def minimal(extra: str = "") -> str:
    """The smallest valid rule file, with `extra` YAML appended at the top level."""
    return (
        "version: 1\n"
        "revision: r1\n"
        "teams:\n"
        "  - id: sales\n"
        "    role: ae_full_cycle\n"
        "    members: [{email: ana@example.com}]\n"
        "routing:\n"
        "  rows:\n"
        "    - id: everyone\n"
        "      assign: {team: sales}\n"
    ) + extra
