"""`territory worker` on the embedded SQLite ledger: one worker process, refused beyond it."""

from __future__ import annotations

from tests.integration.conftest import Deployment
from tests.integration.processes import wait_until
from worker.console import ExitCode


def test_a_second_worker_on_a_sqlite_ledger_is_refused_at_start_with_a_clear_message(
    deployment: Deployment,
) -> None:
    first = deployment.worker()
    wait_until(lambda: " ready." in first.log(), 60, deployment.explain)
    # The tests' short lease (10 s) is below what one CRM call may take: said, not refused.
    warning = "warning: TERRITORY_LEASE_SECONDS=10 is shorter than the longest a CRM call may take"
    assert f"{warning} (180 s)" in first.log()

    second = deployment.worker(name="second-worker")
    status = second.wait_exit(60)

    assert status == ExitCode.REFUSED
    assert "error: another territory worker already runs on the SQLite ledger" in second.log(), (
        second.log()
    )
    assert "set TERRITORY_DATABASE_URL to PostgreSQL to run more" in second.log()
    assert "Traceback" not in second.log()
    assert first.running()


def test_a_worker_asking_for_two_processes_on_a_sqlite_ledger_is_refused(
    deployment: Deployment,
) -> None:
    done = deployment.run("worker", "--concurrency", "2", expect=ExitCode.REFUSED)

    assert done.stderr.startswith(
        "error: --concurrency 2: the embedded SQLite ledger takes one worker process"
    ), done.stderr
