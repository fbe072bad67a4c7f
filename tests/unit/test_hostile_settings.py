"""A token that cannot go into an HTTP header is refused by its variable's name, never shown.

A HubSpot token with a line break inside (a pasted value, a secret file of two lines) reached
the HTTP client, whose "Invalid header value b'Bearer …'" came out as an internal error with
the token in it; a Salesforce session id the same way read as a connection failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.cli_runs import copy_org, run
from worker.settings import SettingsError, load_settings

SECRET = "pat-S3CRET"
BROKEN = [f"{SECRET}\nsecond-line", f"{SECRET}\rx", f"{SECRET} tail", f"{SECRET}\x7fx"]
VARIABLES = ["TERRITORY_HUBSPOT_TOKEN", "TERRITORY_SALESFORCE_SESSION_ID"]


@pytest.mark.parametrize("variable", VARIABLES)
@pytest.mark.parametrize("value", BROKEN, ids=["newline", "carriage-return", "space", "delete"])
def test_a_token_with_spaces_or_control_characters_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError) as refused:
        load_settings()

    assert str(refused.value).startswith(f"{variable}: ")
    assert SECRET not in str(refused.value)


def test_a_secret_file_of_two_lines_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "token"
    secret.write_text(f"{SECRET}\nsecond-line\n", encoding="utf-8")
    monkeypatch.setenv("TERRITORY_HUBSPOT_TOKEN_FILE", str(secret))
    monkeypatch.setenv("TERRITORY_HUBSPOT_BASE_URL", "http://127.0.0.1:9")
    org = copy_org(tmp_path / "org")

    result = run("validate", org / "rules.yaml", "--source", "hubspot")

    assert result.exit_code == 2, result.output
    assert "TERRITORY_HUBSPOT_TOKEN" in result.output
    assert SECRET not in result.output


def test_a_token_that_is_one_word_still_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRITORY_HUBSPOT_TOKEN", f"  {SECRET}\n")

    token = load_settings().hubspot_token

    assert token is not None
    assert token.get_secret_value() == SECRET
