"""`--out` writes only a new path or a regular file: never through a link, pipe or device,
never over the command's own inputs, and `sample` never into a directory holding other files."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from tests.unit.cli_runs import AS_OF, copy_org, run


@pytest.fixture
def org(tmp_path: Path) -> Path:
    return copy_org(tmp_path / "org")


def plan_to(org: Path, out: Path) -> Result:
    return run(
        "plan", "--rules", org / "rules.yaml", "--source", f"csv:{org}", "--as-of", AS_OF,
        "--out", out,
    )  # fmt: skip


def symlink_to_a_file(tmp_path: Path) -> Path:
    target = tmp_path / "elsewhere.json"
    target.write_text("keep me\n", encoding="utf-8")
    link = tmp_path / "plan.json"
    link.symlink_to(target)
    return link


def dangling_symlink(tmp_path: Path) -> Path:
    link = tmp_path / "plan.json"
    link.symlink_to(tmp_path / "missing.json")
    return link


def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    os.mkfifo(path)
    return path


def directory(tmp_path: Path) -> Path:
    path = tmp_path / "plans"
    path.mkdir()
    return path


def device(tmp_path: Path) -> Path:
    """A character device that a regressed check could replace without harm: as root, the old
    writer renamed its temporary file over /dev/null itself."""
    path = tmp_path / "null"
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        if os.access(Path(os.devnull).parent, os.W_OK):
            pytest.skip("cannot make a device here, and /dev/null could be replaced")
        return Path(os.devnull)
    return path


REFUSED: dict[str, tuple[Callable[[Path], Path], str]] = {
    "device": (device, "is a character device"),
    "symlink": (symlink_to_a_file, "is a symbolic link"),
    "dangling-symlink": (dangling_symlink, "is a symbolic link"),
    "fifo": (fifo, "is a FIFO (named pipe)"),
    "directory": (directory, "is a directory; give a file path such as"),
}


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_plan_out_refuses_what_is_not_a_regular_file_and_leaves_it_alone(
    org: Path, tmp_path: Path, kind: str
) -> None:
    make, message = REFUSED[kind]
    out = make(tmp_path)
    before = os.lstat(out)

    result = plan_to(org, out)

    assert result.exit_code == 2
    assert f"{out}: {message}" in result.stderr
    assert "Coverage map" not in result.stdout  # refused before any planning
    after = os.lstat(out)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)


def test_plan_out_refuses_a_path_whose_directory_does_not_exist(org: Path, tmp_path: Path) -> None:
    out = tmp_path / "missing" / "plan.json"

    result = plan_to(org, out)

    assert result.exit_code == 2
    assert f"no directory {out.parent} to write it into" in result.stderr


@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("rules.yaml", "the rule file"),
        ("companies.csv", "companies.csv, a file of --source csv:"),
        ("owners.csv", "owners.csv, a file of --source csv:"),
    ],
)
def test_plan_out_never_replaces_the_commands_own_inputs(
    org: Path, tmp_path: Path, name: str, what: str
) -> None:
    before = (org / name).read_bytes()
    (tmp_path / "link").symlink_to(org)

    for spelling in (org / name, org / "." / name, tmp_path / "link" / name):
        result = plan_to(org, spelling)

        assert result.exit_code == 2, spelling
        assert f"{spelling}: is {what}" in result.stderr
    assert (org / name).read_bytes() == before


def test_plan_from_the_ledger_never_replaces_the_ledgers_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "territory.sqlite3"
    monkeypatch.setenv("TERRITORY_DATABASE_URL", f"sqlite:///{database}")
    assert run("db", "upgrade").exit_code == 0
    before = database.read_bytes()

    result = run("plan", "--source", "ledger", "--out", database)

    assert result.exit_code == 2
    assert f"{database}: is the ledger's database (territory.sqlite3) this command reads" in (
        result.stderr
    )
    assert database.read_bytes() == before


def test_plan_out_may_sit_beside_the_csv_files(org: Path) -> None:
    out = org / "plan.json"
    out.write_text("an older plan\n", encoding="utf-8")

    result = plan_to(org, out)

    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith('{\n"as_of":')


def sample_into(out: Path, *extra: str) -> Result:
    return run("sample", "--out", out, "--accounts", "50", "--reps", "4", *extra)


def test_sample_out_refuses_a_directory_holding_other_files(tmp_path: Path) -> None:
    out = tmp_path / "org"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n", encoding="utf-8")

    result = sample_into(out)

    assert result.exit_code == 2
    assert f"{out}: is not empty (1 entries)" in result.stderr
    assert "--force" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_sample_out_with_force_writes_beside_other_files(tmp_path: Path) -> None:
    out = tmp_path / "org"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n", encoding="utf-8")

    result = sample_into(out, "--force")

    assert result.exit_code == 0, result.output
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    assert (out / "companies.csv").is_file()


@pytest.mark.parametrize("make", [directory, symlink_to_a_file, fifo], ids=lambda f: f.__name__)
def test_sample_out_with_force_refuses_what_stands_where_a_sample_file_goes(
    tmp_path: Path, make: Callable[[Path], Path]
) -> None:
    out = tmp_path / "org"
    out.mkdir()
    in_the_way = make(out).rename(out / "companies.csv")
    before = sorted(p.name for p in out.iterdir())

    result = sample_into(out, "--force")

    assert result.exit_code == 2, result.output
    assert f"{in_the_way}: is a" in result.stderr
    assert "--force replaces only regular files" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == before


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
def test_sample_out_that_is_a_file_is_a_clear_error(tmp_path: Path, force: list[str]) -> None:
    out = tmp_path / "org"
    out.write_text("not a directory\n", encoding="utf-8")

    result = sample_into(out, *force)

    assert result.exit_code == 2
    assert f"{out}: is a file; --out names the directory to write the org into" in result.stderr


def test_sample_out_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    out = tmp_path / "org"
    out.symlink_to(tmp_path / "real")

    result = sample_into(out, "--force")

    assert result.exit_code == 2
    assert f"{out}: is a symbolic link" in result.stderr
    assert list((tmp_path / "real").iterdir()) == []
