"""Calling the worker's services from a command: the context, and every service error as one
line with its exit code (the table in docs/worker.md, "Exit codes").

Command modules import this inside their command functions: it pulls in the ledger, the
connectors and the engine, which `territory --help` never needs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final, NoReturn

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DatabaseError, OperationalError

from connectors.errors import ConnectorError
from connectors.files import CsvLoadError
from rules.errors import RuleError
from worker.approvals import DecisionError
from worker.cli.ledger_options import parse_actor
from worker.cli.terminal import err
from worker.console import ExitCode, fail
from worker.context import SourceSpecError, WorkerContext, open_context
from worker.crm import CrmSettingsError
from worker.departures import DepartureError
from worker.ledger import LedgerError
from worker.planning import PlanningError
from worker.rollback import RollbackError
from worker.settings import SettingsError, load_settings

# What each service error means for the exit status; its message already says what to do.
EXIT_CODES: Final[Mapping[type[Exception], ExitCode]] = {
    SettingsError: ExitCode.INVALID,
    CrmSettingsError: ExitCode.INVALID,
    SourceSpecError: ExitCode.INVALID,
    CsvLoadError: ExitCode.INVALID,
    LedgerError: ExitCode.REFUSED,
    PlanningError: ExitCode.REFUSED,
    DecisionError: ExitCode.REFUSED,
    RollbackError: ExitCode.REFUSED,
    DepartureError: ExitCode.REFUSED,
}


def connector_failure(error: ConnectorError | Mapping[str, Any]) -> str:
    """A CRM error in one line: its class, its message, and what to do about it."""
    fields = error.to_json() if isinstance(error, ConnectorError) else error
    status = f" (HTTP {fields['status']})" if fields.get("status") is not None else ""
    code = f" [{fields['code']}]" if fields.get("code") else ""
    advice = (
        "transient: run the command again later; what was stored is kept"
        if fields.get("retryable")
        else "a person must act on it before the next run"
    )
    return f"the CRM failed: {fields.get('class')}: {fields.get('message')}{code}{status}; {advice}"


def _exit_code(error: Exception) -> ExitCode | None:
    for kind in type(error).__mro__:
        code = EXIT_CODES.get(kind)
        if code is not None:
            return code
    return None


def _fail_rule_error(error: RuleError) -> NoReturn:
    """Every located issue of a rule file, then exit 2 (as `territory validate` reports them)."""
    for issue in error.issues:
        err.print(str(issue), highlight=False, soft_wrap=True, markup=False)
    file = error.issues[0].location.file if error.issues else "the rule file"
    fail(err, f"{file}: {len(error.issues)} problem(s); nothing was recorded", ExitCode.INVALID)


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn what the services raise into one line on stderr and the documented exit code."""
    try:
        yield
    except ConnectorError as exc:
        fail(err, connector_failure(exc), ExitCode.CRM_FAILED)
    except RuleError as exc:
        _fail_rule_error(exc)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "no answer"
        fail(
            err,
            f"the ledger database does not answer ({reason}): check TERRITORY_DATABASE_URL",
            ExitCode.REFUSED,
        )
    except DatabaseError as exc:
        # SQLite's own DatabaseError (not a subclass): the file is not a database, or corrupt.
        if type(exc.orig) is not sqlite3.DatabaseError:
            raise
        fail(
            err,
            f"the ledger database cannot be read ({str(exc.orig).strip()}): check "
            "TERRITORY_DATABASE_URL names an SQLite ledger",
            ExitCode.REFUSED,
        )
    except (RedisConnectionError, RedisTimeoutError) as exc:
        fail(
            err,
            f"Redis does not answer ({type(exc).__name__}): check TERRITORY_REDIS_URL, or unset "
            "it to run without a broker",
            ExitCode.REFUSED,
        )
    except Exception as exc:
        code = _exit_code(exc)
        if code is None:
            raise
        fail(err, str(exc), code)


def worker_context(actor: str | None = None) -> WorkerContext:
    """The context for one command: settings, the ledger (created when embedded and new)."""
    return open_context(load_settings(), actor=parse_actor(actor))
