"""Running the `territory` CLI in tests, on copies of the small fixed org (tests/golden/org)."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner, Result

from worker.cli import app

ORG = Path(__file__).resolve().parents[1] / "golden" / "org"
AS_OF = "2027-01-04"


def copy_org(target: Path) -> Path:
    """A writable copy of the fixed org (rules.yaml, companies.csv, owners.csv) at `target`."""
    shutil.copytree(ORG, target, dirs_exist_ok=True)
    return target


def run(*args: str | Path) -> Result:
    """Invoke `territory ARGS`; no command may ever print a traceback."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result
