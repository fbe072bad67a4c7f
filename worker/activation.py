"""`territory activate`: a rule file becomes the revision the worker plans from.

The file is validated, its what-if against the active revision is computed on the mirror (the
same plan diff as `territory diff`), and the revision is recorded with its sha256, who and when.
From then on the worker plans from the stored text, never from whatever YAML is on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.context import PlanContext
from rules.engine import plan_territories
from rules.errors import RuleIssue
from rules.loader import LoadedRules, load_rules
from rules.plan import plan_document
from worker.context import WorkerContext
from worker.diff_view import plan_diff
from worker.ledger.facts import bound_crm, get_fact
from worker.ledger.mirror import load_snapshot, stream_state
from worker.ledger.revisions import RuleRevision, activate_revision, active_revision
from worker.planning import plan_context
from worker.readable import check_fields
from worker.runtime import collector_paused
from worker.sync_fields import COMPANIES_STREAM, MIRROR_BASELINE, read_signature


@dataclass(frozen=True, slots=True)
class Activation:
    """What activating a rule file did (or, in a dry run, would do)."""

    loaded: LoadedRules
    previous: RuleRevision | None
    revision_id: int | None  # the new revision's id; None in a dry run or when unchanged
    unchanged: bool  # the file is the active revision already
    diff: dict[str, Any] | None  # the what-if against the active revision, on the mirror
    diff_note: str | None  # why there is no what-if
    needs_full_sync: bool  # the revision reads fields the mirror was not synced with
    field_warnings: list[RuleIssue] = field(default_factory=list)  # fields the CRM cannot feed


def activate(ctx: WorkerContext, path: str, text: str, *, dry_run: bool = False) -> Activation:
    """Validate `text`, compute its what-if on the mirror, and record it as the active revision."""
    loaded = load_rules(text, path)
    with ctx.ledger.read() as connection:
        previous = active_revision(connection)
        bound = bound_crm(connection)
        state = stream_state(connection, COMPANIES_STREAM)
        baseline = get_fact(connection, MIRROR_BASELINE)
    unchanged = previous is not None and previous.sha256 == loaded.sha256
    kind = None if bound is None else (bound[0] if bound[0] != "csv" else f"csv:{bound[1]}")
    needs_full_sync = kind is not None and (
        state.fields is None or tuple(state.fields) != read_signature(loaded.rule, kind)
    )
    # A revision whose rows test a field the bound CRM cannot feed is refused (RuleError).
    field_warnings = check_fields(ctx.connector(kind, loaded.rule), loaded) if kind else []
    diff, note = None, None
    if previous is None:
        note = "no revision was active before: nothing to compare with"
    elif baseline is None:
        note = "the mirror holds no full sync yet: run `territory sync` to see a what-if"
    elif needs_full_sync:
        note = (
            "this revision reads CRM fields the mirror was not synced with: the worker runs a "
            "full sync before its first plan, so no what-if is shown on incomplete data"
        )
    elif not unchanged:
        old = load_rules(previous.text, previous.path)
        diff = _what_if(ctx, old, loaded)
    revision_id = None
    if not dry_run and not unchanged:
        with ctx.ledger.write() as connection:
            revision_id = activate_revision(
                connection,
                revision=loaded.rule.revision,
                sha256=loaded.sha256,
                text=text,
                path=path,
                fields=read_signature(loaded.rule, kind) if kind else (),
                who=ctx.actor,
                now=ctx.now(),
            )
    return Activation(
        loaded, previous, revision_id, unchanged, diff, note, needs_full_sync, field_warnings
    )


def _what_if(ctx: WorkerContext, old: LoadedRules, new: LoadedRules) -> dict[str, Any]:
    today = ctx.today()
    with ctx.ledger.read() as connection, collector_paused():
        snapshot = load_snapshot(connection)
        context_old = plan_context(connection, old.rule, today)
        context_new = plan_context(connection, new.rule, today)
    with collector_paused():
        before = _document(old, snapshot, today, context_old)
        after = _document(new, snapshot, today, context_new)
    # Every move: the caller decides how many to show (`diff_sections(..., shown=N)`).
    return plan_diff(before, after, without=[])


def _document(
    loaded: LoadedRules, snapshot: Any, today: Any, context: PlanContext
) -> dict[str, Any]:
    return plan_document(plan_territories(loaded, snapshot, today, context))
