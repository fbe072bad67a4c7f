"""`territory worker` and `territory beat`: Celery on Redis, configured from TERRITORY_* settings.

Both need TERRITORY_REDIS_URL (the broker). Without it, every command runs its task code
in-process instead (`territory sync`, `plan --source ledger --save`, `apply`), so nothing needs
a broker to try it. On the embedded SQLite ledger the worker runs one process at a time: a
second worker, or `--concurrency` above 1, is refused at start; PostgreSQL takes any number.
"""

from __future__ import annotations

import fcntl
import os
from typing import IO, TYPE_CHECKING, Annotated

import typer

from worker.cli.command_group import CommandGroup
from worker.cli.terminal import err
from worker.console import ExitCode, fail

if TYPE_CHECKING:
    from celery import Celery

    from worker.settings import Settings

commands = CommandGroup()
# RedBeat with its lock, surviving a Redis restart (see worker/beat_scheduler.py).
SCHEDULER = "worker.beat_scheduler:ResilientRedBeatScheduler"

LogLevelOption = Annotated[
    str,
    typer.Option("--loglevel", help="DEBUG, INFO, WARNING or ERROR.", metavar="LEVEL"),
]


def _settings_and_app() -> tuple[Settings, Celery]:
    from worker.celery_app import BrokerSettingsError, app, configure
    from worker.settings import SettingsError, load_settings

    try:
        settings = load_settings()
        configure(app, settings)
    except (SettingsError, BrokerSettingsError) as exc:
        fail(err, str(exc), ExitCode.INVALID)
    return settings, app


@commands.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            min=1,
            help="Worker processes (default: 1 on SQLite, the CPU count on PostgreSQL).",
            metavar="N",
        ),
    ] = None,
    queues: Annotated[
        str,
        typer.Option("--queues", help="Comma-separated queues to consume.", metavar="LIST"),
    ] = "sync,writeback,routing,alerts",
    loglevel: LogLevelOption = "INFO",
) -> None:
    """Run the Celery worker: syncs, plans, write-back, departures, reconcile, relay.

    Needs TERRITORY_REDIS_URL. With TERRITORY_AUTO_MIGRATE=true the ledger is migrated first;
    otherwise run `territory db upgrade`. Exit 2 on bad settings, 4 when the ledger refuses
    (not migrated, or SQLite with more than one worker process).
    """
    from worker.context import open_context
    from worker.crm import longest_call_seconds
    from worker.ledger import LedgerError

    settings, app = _settings_and_app()
    try:
        ctx = open_context(settings, actor="worker")
    except LedgerError as exc:
        fail(err, str(exc), ExitCode.REFUSED)
    if ctx.ledger.is_sqlite:
        if concurrency is not None and concurrency > 1:
            fail(
                err,
                f"--concurrency {concurrency}: the embedded SQLite ledger takes one worker "
                "process; set TERRITORY_DATABASE_URL to PostgreSQL for more",
                ExitCode.REFUSED,
            )
        concurrency = 1
        lock = _hold_sqlite_lock(ctx.ledger.engine.url.database or "")
    else:
        lock = None
    ctx.ledger.dispose()
    longest = longest_call_seconds()
    if settings.lease_seconds < longest:
        err.print(
            f"warning: TERRITORY_LEASE_SECONDS={settings.lease_seconds} is shorter than the "
            f"longest a CRM call may take ({longest:.0f} s): a change still being written when "
            "its lease ends may be taken by the reconciler; keep it at least that long "
            "(default 300)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    argv = [
        "worker",
        f"--loglevel={loglevel}",
        f"--queues={queues}",
        "--without-gossip",
        "--without-mingle",
    ]
    if concurrency is not None:
        argv.append(f"--concurrency={concurrency}")
    try:
        app.worker_main(argv=argv)
    finally:
        if lock is not None:
            lock.close()


def _hold_sqlite_lock(database: str) -> IO[bytes] | None:
    """Hold an exclusive lock beside the SQLite file for this worker's life, or refuse."""
    if not database or database == ":memory:":
        return None
    # Imported here: the ledger pulls in SQLAlchemy, which `territory --help` never needs.
    from worker.ledger.database import worker_lock_path

    handle = worker_lock_path(database).open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        fail(
            err,
            f"another territory worker already runs on the SQLite ledger {database}: the "
            "embedded ledger takes one worker process; set TERRITORY_DATABASE_URL to "
            "PostgreSQL to run more",
            ExitCode.REFUSED,
        )
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n".encode())
    handle.flush()
    return handle


@commands.command()
def beat(loglevel: LogLevelOption = "INFO") -> None:
    """Run the scheduler: incremental sync, apply-due, reconcile, relay and the nightly plan.

    The schedule comes from TERRITORY_*_EVERY_* and TERRITORY_NIGHTLY_PLAN_AT. It lives in
    Redis with a lock (RedBeat): a second `territory beat` waits as a standby and takes over
    when the first stops, so no task fires twice. Needs TERRITORY_REDIS_URL.
    """
    _, app = _settings_and_app()
    app.start(argv=["beat", f"--loglevel={loglevel}", f"--scheduler={SCHEDULER}"])
