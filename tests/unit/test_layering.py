"""The dependency direction is rules <- connectors <- worker, and rules/ is pure."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "rules": {"connectors", "worker"},
    "connectors": {"worker"},
}
# The pure core does no I/O, reads no clock and draws no random numbers.
IMPURE_IN_RULES = {"os", "io", "socket", "random", "time", "subprocess", "requests", "urllib"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_point_one_way(package: str) -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, module in _imports(path)
        if module.split(".")[0] in FORBIDDEN[package]
    ]
    assert offences == []


def test_rules_package_does_no_io_clock_or_randomness() -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for path in sorted((ROOT / "rules").rglob("*.py"))
        for line, module in _imports(path)
        if module.split(".")[0] in IMPURE_IN_RULES
    ]
    assert offences == []


def test_rules_never_reads_the_clock() -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "rules").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(call in line for call in ("date.today(", "datetime.now(", "datetime.utcnow("))
    ]
    assert offences == []


def test_the_check_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from worker.cli import app\nimport connectors.files\n", encoding="utf-8")
    assert [m for _, m in _imports(bad)] == ["worker.cli", "connectors.files"]
