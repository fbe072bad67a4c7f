"""Hostile and mistaken use of the ledger commands: each ends in one error line and its
documented exit code (2 a bad argument or setting, 4 the ledger refuses), never a traceback,
and records nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.worker.cli_ledger import GOLDEN_ORG, Territory, error_line
from worker.console import ExitCode


@pytest.mark.parametrize("command", ["approve", "decline", "rollback"])
@pytest.mark.parametrize("run", ["abc", "0", "-1", "1.5", "", "1e3", "99999999999999999999"])
def test_a_malformed_run_id_is_a_bad_argument(territory: Territory, command: str, run: str) -> None:
    result = territory(command, "--", run)

    assert result.exit_code == ExitCode.INVALID
    assert "expected a run id" in error_line(result)


@pytest.mark.parametrize("command", ["approve", "decline"])
def test_an_unknown_run_is_refused_by_the_ledger(territory: Territory, command: str) -> None:
    result = territory(command, "42")

    assert result.exit_code == ExitCode.REFUSED
    assert error_line(result) == "error: no run 42: `territory runs` lists them"


def test_rollback_of_an_unknown_run_is_refused(territory: Territory) -> None:
    territory("activate", GOLDEN_ORG / "rules.yaml")

    result = territory("rollback", "42")

    assert result.exit_code == ExitCode.REFUSED
    assert "no run 42" in error_line(result)


def test_changes_and_apply_take_a_well_formed_run_only(territory: Territory) -> None:
    for args in (["changes", "--run", "x1"], ["apply", "--run", "0"]):
        result = territory(*args)

        assert result.exit_code == ExitCode.INVALID
        assert error_line(result).startswith("error: --run: expected a run id")


def test_cancel_of_an_unknown_change_is_refused(territory: Territory) -> None:
    result = territory("cancel", "0123456789abcdef01234567")

    assert result.exit_code == ExitCode.REFUSED
    assert "no change 0123456789abcdef01234567" in error_line(result)


@pytest.mark.parametrize(
    ("day", "says"),
    [
        ("2027-02-30", "February 2027 has days 01 to 28"),
        ("2027-13-01", "there is no month 13"),
        ("20270104", "expected a date YYYY-MM-DD"),
        ("tomorrow", "expected a date YYYY-MM-DD"),
        ("2027-W01-1", "expected a date YYYY-MM-DD"),
        ("", "expected a date YYYY-MM-DD"),
        ("0001-01-01", "plans are made for days from"),
    ],
)
def test_a_malformed_effective_date_is_a_bad_argument(
    territory: Territory, day: str, says: str
) -> None:
    result = territory("depart", "ana@example.com", "--effective", day)

    assert result.exit_code == ExitCode.INVALID
    line = error_line(result)
    assert line.startswith("error: --effective")
    assert says in line


def test_a_malformed_as_of_for_a_ledger_plan_is_a_bad_argument(territory: Territory) -> None:
    result = territory("plan", "--source", "ledger", "--as-of", "2027-04-31")

    assert result.exit_code == ExitCode.INVALID
    assert "April 2027 has days 01 to 30" in error_line(result)


def test_notice_for_an_owner_the_mirror_does_not_know_is_refused(territory: Territory) -> None:
    result = territory("depart", "nobody@example.com", "--effective", "2027-01-11")

    assert result.exit_code == ExitCode.REFUSED
    assert "no owner with email 'nobody@example.com'" in error_line(result)


def test_apply_before_any_sync_or_activation_is_refused(territory: Territory) -> None:
    for args in (["apply"], ["apply", "--dry-run", "--json"], ["reconcile"]):
        result = territory(*args)

        assert result.exit_code == ExitCode.REFUSED
        assert "no rule revision is active" in error_line(result)
        assert result.stdout == ""

    territory("activate", GOLDEN_ORG / "rules.yaml")
    result = territory("apply")

    assert result.exit_code == ExitCode.REFUSED
    assert "has not been synced with a CRM yet" in error_line(result)


def test_sync_with_no_source_before_the_first_sync_is_refused(territory: Territory) -> None:
    result = territory("sync")

    assert result.exit_code == ExitCode.REFUSED
    assert "has not been synced with a CRM yet" in error_line(result)


@pytest.mark.parametrize("source", ["csv:", "excel:foo", "ledger", "hubspot2"])
def test_sync_from_a_source_that_is_not_a_crm_is_a_bad_argument(
    territory: Territory, source: str
) -> None:
    result = territory("sync", "--source", source)

    assert result.exit_code == ExitCode.INVALID
    assert "expected hubspot, salesforce or csv:DIR" in error_line(result)


def test_sync_from_a_missing_directory_is_a_bad_argument(
    territory: Territory, tmp_path: Path
) -> None:
    result = territory("sync", "--source", f"csv:{tmp_path / 'nowhere'}")

    assert result.exit_code == ExitCode.INVALID
    assert "is not a directory" in error_line(result)


def test_sync_from_hubspot_without_a_token_names_the_setting(territory: Territory) -> None:
    result = territory("sync", "--source", "hubspot")

    assert result.exit_code == ExitCode.INVALID
    assert "TERRITORY_HUBSPOT_TOKEN" in error_line(result)


def test_a_plan_before_any_sync_says_what_to_run_first(territory: Territory) -> None:
    territory("activate", GOLDEN_ORG / "rules.yaml")

    result = territory("plan", "--source", "ledger", "--save")

    assert result.exit_code == ExitCode.REFUSED
    assert "has not been synced with a CRM yet" in error_line(result)
    assert territory.json("runs", "--json") == []


@pytest.mark.parametrize(
    ("extra", "option"),
    [
        (["--rules", str(GOLDEN_ORG / "rules.yaml")], "--rules"),
        (["--allow-large-change"], "--allow-large-change"),
        (["--strict"], "--strict"),
        (["--timezone", "Europe/Berlin"], "--timezone"),
        (["--date-format", "%Y"], "--date-format"),
    ],
)
def test_a_ledger_plan_refuses_options_that_only_concern_files(
    territory: Territory, extra: list[str], option: str
) -> None:
    result = territory("plan", "--source", "ledger", *extra)

    assert result.exit_code == ExitCode.INVALID
    assert error_line(result).startswith(f"error: {option}: not with --source ledger")


def test_save_is_only_for_a_ledger_plan_and_a_file_plan_needs_rules(territory: Territory) -> None:
    saved = territory(
        "plan", "--rules", GOLDEN_ORG / "rules.yaml", "--source", f"csv:{GOLDEN_ORG}", "--save"
    )
    no_rules = territory("plan", "--source", f"csv:{GOLDEN_ORG}")

    assert saved.exit_code == no_rules.exit_code == ExitCode.INVALID
    assert error_line(saved).startswith("error: --save: only with --source ledger")
    assert error_line(no_rules).startswith("error: --rules: a rule file is needed")


def test_a_rule_file_with_a_yaml_error_is_located_and_nothing_is_recorded(
    territory: Territory, tmp_path: Path
) -> None:
    broken = tmp_path / "rules.yaml"
    text = (GOLDEN_ORG / "rules.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("hot_days: 30", "hot_days: [30"), encoding="utf-8")

    result = territory("activate", broken)
    validated = territory("validate", broken)

    assert result.exit_code == validated.exit_code == ExitCode.INVALID
    assert result.stderr == validated.stderr
    assert re.match(rf"{re.escape(str(broken))}:\d+:\d+: YAML syntax error", result.stderr)
    assert not territory.ledger_path.exists()


def test_a_dry_run_activation_validates_and_records_nothing(territory: Territory) -> None:
    result = territory("activate", "--dry-run", GOLDEN_ORG / "rules.yaml")

    assert result.exit_code == 0
    assert result.stdout.endswith("is valid; dry run, nothing recorded\n")
    assert "what-if: no revision was active before" in result.stderr
    assert territory("activate", "--dry-run", GOLDEN_ORG / "rules.yaml").stdout == result.stdout


def test_a_missing_rule_file_is_a_bad_argument(territory: Territory, tmp_path: Path) -> None:
    result = territory("activate", tmp_path / "nope.yaml")

    assert result.exit_code == ExitCode.INVALID
    assert "no such rule file" in error_line(result)


def test_a_bad_setting_is_named_and_a_password_never_printed(territory: Territory) -> None:
    zone = territory("runs", env={"TERRITORY_TIMEZONE": "Mars/Olympus"})
    scheme = territory("runs", env={"TERRITORY_DATABASE_URL": "mysql://u:s3cret@db/ledger"})
    down = territory(
        "runs", env={"TERRITORY_DATABASE_URL": "postgresql://u:s3cret@127.0.0.1:1/ledger"}
    )

    assert zone.exit_code == ExitCode.INVALID
    assert "TERRITORY_TIMEZONE" in error_line(zone)
    assert scheme.exit_code == ExitCode.INVALID
    assert down.exit_code == ExitCode.REFUSED
    assert "TERRITORY_DATABASE_URL" in error_line(scheme)
    assert "TERRITORY_DATABASE_URL" in error_line(down)
    assert "s3cret" not in scheme.output + down.output


def test_pause_and_resume_say_what_they_found(territory: Territory) -> None:
    first = territory("pause", "--as", "alice")
    again = territory("pause")
    resumed = territory("resume")
    idle = territory("resume")

    assert [r.exit_code for r in (first, again, resumed, idle)] == [0, 0, 0, 0]
    assert first.stdout.startswith("write-back paused by alice")
    assert again.stdout.startswith("write-back was already paused (alice at 2027-01-04T09:00")
    assert resumed.stdout.startswith("write-back resumed (it was paused by alice")
    assert idle.stdout == "write-back was not paused: nothing to resume\n"
