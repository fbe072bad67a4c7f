"""The dependency direction is rules <- connectors <- worker, and rules/ is pure.

The sandbox (a CRM for tests and demos) stands beside them: it reads its org through the CSV
source and uses the rules' domain types, nothing of the CRM connectors, and only the CLI and
the tests use it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "rules": {"connectors", "worker"},
    "connectors": {"worker"},
}
PROJECT = {"rules", "connectors", "worker", "sandbox", "tests"}
# What the sandbox may import of the project: were it to use a connector's constants or
# parsers, a mistake in them would agree with itself in every test.
SANDBOX_MAY_IMPORT = ("sandbox", "connectors.files", "rules")
# Who may import the sandbox: the commands that serve it or write a sample org, and tests.
SANDBOX_USERS = ("worker/cli/", "tests/")
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


def sandbox_imports_outside_its_rule(root: Path) -> list[str]:
    """Imports in `root`/sandbox of project modules other than `SANDBOX_MAY_IMPORT`."""
    return [
        f"{path.relative_to(root)}:{line}: imports {module}"
        for path in sorted((root / "sandbox").rglob("*.py"))
        for line, module in _imports(path)
        if module.split(".")[0] in PROJECT and not _within(module, SANDBOX_MAY_IMPORT)
    ]


def imports_of_the_sandbox(root: Path) -> list[str]:
    """Imports of the sandbox in `root`'s packages, outside `SANDBOX_USERS`."""
    return [
        f"{path.relative_to(root)}:{line}: imports {module}"
        for package in sorted(PROJECT - {"sandbox"})
        for path in sorted((root / package).rglob("*.py"))
        if not path.relative_to(root).as_posix().startswith(SANDBOX_USERS)
        for line, module in _imports(path)
        if _within(module, ("sandbox",))
    ]


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_the_sandbox_imports_only_itself_the_csv_source_and_rules() -> None:
    assert sandbox_imports_outside_its_rule(ROOT) == []


def test_only_the_cli_and_tests_import_the_sandbox() -> None:
    assert imports_of_the_sandbox(ROOT) == []


def test_the_sandbox_checks_catch_what_they_forbid(tmp_path: Path) -> None:
    files = {
        "sandbox/server.py": (
            "import sandbox.org\nfrom connectors.files.cells import amount\n"
            "from rules.domain import Account\nfrom connectors.records import parse_instant\n"
            "from connectors import errors\nimport worker.settings\n"
        ),
        "worker/cli/sandbox.py": "from sandbox.server import serve_until_stopped\n",
        "worker/sync.py": "from sandbox.org import Org\n",
        "connectors/hubspot/fake.py": "import sandbox\n",
        "tests/sandbox/test_it.py": "from sandbox.loader import load_org\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert sandbox_imports_outside_its_rule(tmp_path) == [
        "sandbox/server.py:4: imports connectors.records",
        "sandbox/server.py:5: imports connectors",
        "sandbox/server.py:6: imports worker.settings",
    ]
    assert imports_of_the_sandbox(tmp_path) == [
        "connectors/hubspot/fake.py:1: imports sandbox",
        "worker/sync.py:1: imports sandbox.org",
    ]


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
