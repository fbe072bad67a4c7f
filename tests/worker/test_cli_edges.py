"""The ledger commands at their edges: a CRM that fails mid-apply, a departure the mirror
cannot plan yet, who acts by default, every command's help, and the installed command end to
end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from tests.worker.cli_ledger import Territory, copy_org, error_line
from worker.cli import app
from worker.console import ExitCode
from worker.context import default_actor

LEDGER_COMMANDS = (
    "sync",
    "activate",
    "runs",
    "changes",
    "approve",
    "decline",
    "cancel",
    "pause",
    "resume",
    "apply",
    "reconcile",
    "rollback",
    "depart",
    "db upgrade",
    "ledger prune",
)


def test_a_crm_that_fails_mid_apply_is_reported_with_its_class_and_exit_5(
    territory: Territory, org: Path
) -> None:
    territory("sync", "--source", f"csv:{org}")
    territory("activate", org / "rules.yaml")
    territory("plan", "--source", "ledger", "--save")
    (org / "notes.csv").mkdir()  # the CRM cannot take notes

    result = territory("apply", "--json")

    assert result.exit_code == ExitCode.CRM_FAILED
    assert error_line(result) == (
        "error: the CRM failed: TerminalError: cannot write notes.csv: Is a directory [FILE]; "
        "a person must act on it before the next run"
    )
    report = json.loads(result.stdout)
    assert report["stopped"]["class"] == "TerminalError"
    assert report["changes"]
    assert all(c["state"] != "applied" for c in report["changes"])


def test_notice_on_a_mirror_synced_before_the_revision_says_to_sync_in_full(
    territory: Territory, org: Path
) -> None:
    territory("sync", "--source", f"csv:{org}")
    territory("activate", org / "rules.yaml")

    result = territory("depart", "ben@example.com", "--effective", "2027-01-11")

    assert result.exit_code == ExitCode.REFUSED
    assert f"run `territory sync --source csv:{org} --full` first" in error_line(result)


def test_who_acts_is_user_at_host_unless_as_names_someone(territory: Territory, org: Path) -> None:
    territory("sync", "--source", f"csv:{org}")
    territory("pause", "--as", "night shift")

    synced = territory.json("runs", "--json")[0]
    paused = territory("resume")

    assert synced["actor"] == default_actor()
    assert "@" in synced["actor"]
    assert "it was paused by night shift at" in paused.stdout


@pytest.mark.parametrize("command", LEDGER_COMMANDS)
def test_every_ledger_command_help_says_its_exit_codes(command: str) -> None:
    group = typer.main.get_command(app)
    found = group
    for part in command.split():
        found = found.commands[part]  # type: ignore[attr-defined]

    assert "Exit 0" in (found.help or "")


def test_the_installed_command_runs_an_org_from_sync_to_apply_and_refuses_in_one_line(
    tmp_path: Path,
) -> None:
    territory = Path(sys.executable).with_name("territory")
    org = copy_org(tmp_path / "org")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "TERRITORY_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
    }

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [territory, *map(str, args)], capture_output=True, text=True, env=env, check=False
        )

    steps = [
        run("sync", "--source", f"csv:{org}"),
        run("activate", org / "rules.yaml"),
        run("plan", "--source", "ledger", "--save", "--format", "json"),
    ]
    dry = run("apply", "--dry-run", "--json")
    real = run("apply", "--json")
    unknown = run("approve", "999")

    # Planned as of the real today: over the rail or not, the run is recorded (exit 0 or 3).
    assert [s.returncode for s in steps[:2]] == [0, 0], [s.stderr for s in steps]
    assert steps[2].returncode in (ExitCode.DONE, ExitCode.NEEDS_APPROVAL), steps[2].stderr
    assert "Traceback" not in "".join(s.stderr for s in [*steps, dry, real])
    assert dry.returncode == real.returncode == 0
    dry_rows = [(c["change_id"], c["action"]) for c in json.loads(dry.stdout)["changes"]]
    real_rows = [(c["change_id"], c["action"]) for c in json.loads(real.stdout)["changes"]]
    assert dry_rows
    assert dry_rows == real_rows
    assert unknown.returncode == ExitCode.REFUSED
    assert unknown.stdout == ""
    assert unknown.stderr == "error: no run 999: `territory runs` lists them\n"
