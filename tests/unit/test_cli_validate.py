"""`territory validate`, `territory schema` and `territory sample` as a user runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.rule_text import example_text
from worker.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(example_text(), encoding="utf-8")
    return path


def test_valid_file_exits_0_with_a_one_line_summary(rules_file: Path) -> None:
    code, stdout, stderr = run("validate", str(rules_file))
    assert code == 0
    assert stdout.strip().count("\n") == 0
    assert "valid (version 1, revision 'fy27-q1.3', 4 teams" in stdout
    # Only notes on settings accepted but not yet acted on, each located.
    assert all(": note: " in line for line in stderr.splitlines())


def test_validate_says_which_settings_are_accepted_but_not_yet_acted_on(rules_file: Path) -> None:
    code, _, stderr = run("validate", "--strict", str(rules_file))
    assert code == 0  # notes are not warnings: --strict does not count them
    assert f"{rules_file}:174:1: note: neglect: accepted but not yet acted on" in stderr
    assert "respect_manual_days" not in stderr  # the worker keeps hand edits and locks


def test_invalid_file_exits_2_with_every_located_message_on_stderr(rules_file: Path) -> None:
    text = rules_file.read_text(encoding="utf-8")
    text = text.replace("hot_days: 30 ", "hot_days: 0 ")
    text = text.replace('revision: "fy27-q1.3"', "revision: 1.10")
    rules_file.write_text(text, encoding="utf-8")
    code, stdout, stderr = run("validate", str(rules_file))
    assert code == 2
    assert stdout == ""
    assert f"{rules_file}:4:11: revision:" in stderr
    assert "intent.hot_days: expected a whole number above 0, got 0" in stderr
    assert "2 problem(s); nothing was applied" in stderr
    assert "Traceback" not in stderr


def test_cross_file_error_names_the_known_values(rules_file: Path) -> None:
    text = rules_file.read_text(encoding="utf-8")
    rules_file.write_text(
        text.replace("team: na-enterprise, strategy", "team: na-enterprize, strategy"),
        encoding="utf-8",
    )
    code, _, stderr = run("validate", str(rules_file))
    assert code == 2
    assert "routing.rows[3].assign.team: unknown team 'na-enterprize'" in stderr
    assert "did you mean 'na-enterprise'?" in stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty"),
        ("- just\n- a list\n", "expected a mapping"),
        ("version: [1\n", "YAML syntax error"),
    ],
)
def test_unreadable_documents_exit_2_without_traceback(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(content, encoding="utf-8")
    code, _, stderr = run("validate", str(path))
    assert code == 2
    assert expected in stderr
    assert re.search(rf"{re.escape(str(path))}:\d+:\d+: ", stderr)
    assert "Traceback" not in stderr


def test_missing_file_exits_2_naming_it(tmp_path: Path) -> None:
    code, _, stderr = run("validate", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "nope.yaml: no such rule file" in stderr


def test_non_utf8_file_exits_2_naming_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(b"version: 1\nrevision: \xff\n")
    code, _, stderr = run("validate", str(path))
    assert code == 2
    assert "not UTF-8" in stderr


def test_schema_prints_the_json_schema_of_the_rule_file() -> None:
    code, stdout, _ = run("schema")
    assert code == 0
    document = json.loads(stdout)
    assert document["title"] == "territory-sync rule file"
    assert {"version", "revision", "teams", "routing"} <= set(document["required"])


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("org")
    code, stdout, _ = run(
        "sample",
        "--accounts",
        "400",
        "--reps",
        "8",
        "--seed",
        "3",
        "--flavour",
        "hubspot",
        "--out",
        str(out),
    )
    assert code == 0, stdout
    return out


def test_sample_then_validate_warns_only_about_the_rep_it_deactivated(sample_dir: Path) -> None:
    """The sample is an org mid-year: a rep left with a book and is still on the team."""
    code, stdout, stderr = run(
        "validate", str(sample_dir / "rules.yaml"), "--source", f"csv:{sample_dir}"
    )

    assert code == 0, stderr
    assert "400 companies" in stdout
    warnings = [line for line in stderr.splitlines() if ": warning: " in line]
    assert [w for w in warnings if "is an inactive owner; this rep gets nothing" not in w] == []


def test_rule_reference_the_data_cannot_satisfy_is_a_located_warning(
    sample_dir: Path, tmp_path: Path
) -> None:
    text = (sample_dir / "rules.yaml").read_text(encoding="utf-8")
    first_member = text.index("{email: ") + len("{email: ")
    email = text[first_member : text.index(",", first_member)]
    broken = tmp_path / "rules.yaml"
    broken.write_text(text.replace(email, "nobody@example.com", 1), encoding="utf-8")
    line = text[:first_member].count("\n") + 1

    code, _, stderr = run("validate", str(broken), "--source", f"csv:{sample_dir}")
    assert code == 0
    assert f"{broken}:{line}:" in stderr
    assert "no CRM owner has the email nobody@example.com" in stderr

    strict_code, _, _ = run("validate", str(broken), "--source", f"csv:{sample_dir}", "--strict")
    assert strict_code == 2


def test_unmapped_values_are_reported_per_field(sample_dir: Path, tmp_path: Path) -> None:
    companies = (sample_dir / "companies.csv").read_text(encoding="utf-8")
    data = tmp_path / "org"
    data.mkdir()
    for name in ("owners.csv", "activities.csv"):
        (data / name).write_text((sample_dir / name).read_text(encoding="utf-8"), encoding="utf-8")
    header, *rows = companies.splitlines()
    industry = header.split(",").index("industry")
    renamed = []
    for row in rows:
        cells = row.split(",")
        if len(cells) == len(header.split(",")):
            cells[industry] = "UNMAPPED_INDUSTRY"
        renamed.append(",".join(cells))
    (data / "companies.csv").write_text("\n".join([header, *renamed]) + "\n", encoding="utf-8")

    code, _, stderr = run("validate", str(sample_dir / "rules.yaml"), "--source", f"csv:{data}")
    assert code == 0
    assert "of industry values" in stderr
    assert "'unmapped_industry'" in stderr


def test_bad_source_spec_is_a_clear_error(rules_file: Path) -> None:
    code, _, stderr = run("validate", str(rules_file), "--source", "ftp:/tmp")
    assert code == 2
    assert "expected csv:DIR" in stderr
