"""The steps `plan`, `explain` and `diff` share: load the org, run the engine, exit cleanly.

Command modules import this inside their command functions: it pulls in the rule loader,
the connectors and the engine (numpy), which `territory --help` never needs.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rules.domain import Snapshot
from rules.engine import plan_territories
from rules.loader import LoadedRules
from rules.plan import plan_document
from worker.cli.terminal import err, phase
from worker.console import ExitCode, fail
from worker.runtime import collector_paused
from worker.sources import SourceError, load_source, source_exit_code


def load_snapshot(
    source: str,
    loaded: LoadedRules,
    *,
    strict: bool,
    date_format: str | None,
    timezone: str | None,
) -> Snapshot:
    """Load `source` for `loaded`, report row issues and rule warnings, or exit 2."""
    try:
        loaded_source = load_source(
            source, loaded, strict=strict, date_format=date_format, timezone=timezone, console=err
        )
    except SourceError as exc:
        fail(err, str(exc), source_exit_code(exc))
    warnings = loaded_source.report(err)
    if warnings and strict:
        fail(err, f"{warnings} warning(s) with --strict; nothing was planned", ExitCode.INVALID)
    return loaded_source.snapshot


def plan_document_for(loaded: LoadedRules, snapshot: Snapshot, as_of: date) -> dict[str, Any]:
    """Run the engine and return the plan document, or exit 1 without a traceback."""
    try:
        with phase(f"Planning {len(snapshot.accounts):,} accounts"), collector_paused():
            # Lazy rows: a million-account document is rendered row by row when written.
            return plan_document(plan_territories(loaded, snapshot, as_of), lazy=True)
    except Exception as exc:  # noqa: BLE001 - an engine bug must not print a traceback
        fail(
            err,
            f"planning failed: {type(exc).__name__}: {exc}. This is a bug; please report it "
            "with the rule file and the --as-of date.",
            ExitCode.INTERNAL,
        )
