"""The `territory` CLI's shape: registration without import cycles, an instant `--help`, and
help texts that read well in an 80-column terminal."""

from __future__ import annotations

import ast
import itertools
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from worker.cli import COMMAND_MODULES, app, main

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "worker" / "cli"
WIDTH = 80
# What `territory --help` must not load: the engine, the rule loader, connectors, the sandbox.
HEAVY = ("numpy", "rules", "connectors", "sandbox", "worker.sources", "ruamel")


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, (*path, name))


ALL_COMMANDS = list(commands(typer.main.get_command(app)))
COMMAND_PATHS = [" ".join(path) or "territory" for path, _ in ALL_COMMANDS]


def help_of(path: str) -> str:
    args = [] if path == "territory" else path.split()
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": str(WIDTH)})
    assert result.exit_code == 0, result.output
    return result.output


def test_every_module_that_declares_commands_is_registered() -> None:
    declaring = sorted(
        path.stem
        for path in CLI.glob("*.py")
        if any(
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "commands" for t in node.targets)
            for node in ast.parse(path.read_text(encoding="utf-8")).body
        )
    )

    assert sorted(COMMAND_MODULES) == declaring


def test_command_modules_never_import_the_package_that_registers_them() -> None:
    offences = []
    for path in sorted(CLI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "worker.cli":
                offences.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Import) and any(a.name == "worker.cli" for a in node.names):
                offences.append(f"{path.name}:{node.lineno}")

    assert offences == []


def test_help_loads_no_engine_connector_or_rule_loader() -> None:
    probe = (
        "import sys; from typer.testing import CliRunner; from worker.cli import app; "
        "CliRunner().invoke(app, ['plan', '--help']); "
        f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))"
    )

    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()

    assert loaded == "[]"


@pytest.mark.parametrize("path", COMMAND_PATHS)
def test_help_shows_flags_as_flags(path: str) -> None:
    assert "<bool>" not in help_of(path)


@pytest.mark.parametrize("path", COMMAND_PATHS)
def test_help_cuts_no_option_name_or_type_short(path: str) -> None:
    lines = help_of(path).splitlines()

    assert [line for line in lines if "…" in line] == []
    folded = [line for line in lines if any(not t.endswith(">") for t in re.findall(r"<\S*", line))]
    assert folded == []  # a type like <table|json> broken across lines


@pytest.mark.parametrize("path", COMMAND_PATHS)
def test_help_texts_hold_no_line_break_inside_a_paragraph(path: str) -> None:
    command = dict(zip(COMMAND_PATHS, (c for _, c in ALL_COMMANDS), strict=True))[path]
    texts = [command.help or "", *(getattr(p, "help", None) or "" for p in command.params)]

    broken = [t for t in texts for paragraph in t.split("\n\n") if "\n" in paragraph]

    assert broken == []


@pytest.mark.parametrize("path", COMMAND_PATHS)
def test_help_description_wraps_only_where_the_width_ends(path: str) -> None:
    """A line is cut early when the next line's first word would still have fit on it."""
    lines = help_of(path).splitlines()
    panel = next(i for i, line in enumerate(lines) if line.startswith("╭"))
    description = [line.strip() for line in lines[2:panel]]  # after the usage line
    room = WIDTH - 2  # one space of padding on each side

    early = [
        (line, following)
        for line, following in itertools.pairwise(description)
        if line and following and len(line) + 1 + len(following.split()[0]) <= room
    ]

    assert early == []


def test_version_prints_the_installed_distributions_version() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    result = CliRunner().invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.stdout == f"{declared['name']} {declared['version']}\n"


def test_an_unexpected_error_is_one_line_and_exit_1_never_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("rules.schema.RuleFile.model_json_schema", broken)
    monkeypatch.setattr(sys, "argv", ["territory", "schema"])

    with pytest.raises(SystemExit) as stopped:
        main()

    assert stopped.value.code == 1
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    assert stderr.startswith("error: internal error: RuntimeError: boom (at test_cli_shape.py:")
    assert stderr.count("\n") == 1
