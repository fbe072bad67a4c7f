"""A bug is reported in one line that never shows a secret setting. Before, the internal error
printed the exception's whole message: a database error quoted its SQL statement over many
lines, and a message quoting a URL or token (a storage URL with '/' in its password) printed it
in clear."""

from __future__ import annotations

import pytest

import worker.cli
import worker.cli.service_calls as service_calls
from worker.console import ExitCode


def test_a_bug_is_one_line_with_every_secret_setting_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TERRITORY_HUBSPOT_TOKEN", "pat-na1-s3cret-token")
    monkeypatch.setenv("TERRITORY_REDIS_URL", "redis://:s3cret%2Fpw@127.0.0.1:6379/0")
    monkeypatch.setenv("TERRITORY_DATABASE_URL", "sqlite:///ledger.sqlite3")

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError(
            "cannot use redis://:s3cret/pw@127.0.0.1:6379/0 with pat-na1-s3cret-token\n"
            "[SQL: SELECT * FROM changes]\n[parameters: {'a': 1}]"
        )

    monkeypatch.setattr(service_calls, "worker_context", broken)
    monkeypatch.setattr("sys.argv", ["territory", "runs"])

    with pytest.raises(SystemExit) as exit_status:
        worker.cli.main()
    stderr = capsys.readouterr().err

    assert exit_status.value.code == ExitCode.INTERNAL
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith("error: internal error: RuntimeError: cannot use redis://")
    assert "s3cret" not in stderr
    assert "SQL" not in stderr
