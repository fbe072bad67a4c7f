"""Sync the CRM into the mirror: incremental by default, full on demand or when the rule needs it.

Every page is committed as it arrives, with the token to continue after it, so a sync that fails
part-way keeps what it stored and the next try resumes there (a million-company sync never
starts over). A transient failure mid-sync is retried from the last stored page (or, in the
owner, deletion and activity passes, by reading that pass again), bounded by the one retry
policy per stretch without progress. A full sync also repairs drift: companies the mirror
missed are added and counted, companies the CRM no longer has are dropped.

What the sync sees also feeds the plan: an owner that differs from the mirror and from what
this service wrote is a hand edit (pinned for `changes.respect_manual_days`), and an owner the
mirror knew as active and the CRM now reports inactive is a departure (the caller starts a
departure run).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TypeVar

import sqlalchemy as sa

from connectors.base import Connector
from connectors.errors import ConnectorError
from connectors.retry import RetryPolicy
from rules.schema import RuleFile
from worker.context import WorkerContext
from worker.ledger import outbox as ob
from worker.ledger.facts import bind_crm, get_fact, set_fact
from worker.ledger.mirror import (
    OwnerMove,
    StreamState,
    latest_touches,
    remove_companies,
    remove_unseen,
    save_stream_state,
    store_activity,
    store_companies,
    store_owners,
    stream_state,
)
from worker.ledger.pins import Pin, add_pending_departures, add_pins, written_owner_of
from worker.ledger.revisions import active_revision
from worker.ledger.runs import finish_run, start_run
from worker.ledger.states import RunKind, RunState
from worker.readable import skip_missing
from worker.sync_fields import (
    ACTIVITY_STREAM,
    ARCHIVED_STREAM,
    COMPANIES_STREAM,
    MIRROR_BASELINE,
    read_signature,
)

if TYPE_CHECKING:
    from connectors.base import CompanyPage

Progress = Callable[[int], None]
T = TypeVar("T")
# Tries of one failed pass or page (after the connector's own retries of each request).
DEFAULT_PAGE_POLICY: Final = RetryPolicy(attempts=12, max_seconds=600.0, max_wait=30.0)


@dataclass(slots=True)
class SyncResult:
    """What one sync did."""

    run_id: int
    mode: str  # full | incremental
    resumed: bool = False
    companies: int = 0  # records stored
    new: int = 0  # new to the mirror
    drift_repaired: int = 0  # a full sync: records the mirror had missed or still held
    removed: int = 0  # archived or deleted in the CRM
    hand_edits: int = 0
    owners: int = 0
    departed: list[str] = field(default_factory=list)  # owners active before, inactive now
    activity_pairs: int = 0
    page_retries: int = 0  # failed pages and passes asked again

    def counts(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "resumed": self.resumed,
            "companies": self.companies,
            "new": self.new,
            "drift_repaired": self.drift_repaired,
            "removed": self.removed,
            "hand_edits": self.hand_edits,
            "owners": self.owners,
            "departed": len(self.departed),
            "activity_pairs": self.activity_pairs,
            "page_retries": self.page_retries,
        }


@dataclass(frozen=True, slots=True)
class _Resume:
    """Where an unfinished company sync continues: its mode, window, generation and token."""

    mode: str
    since: datetime | None
    started: datetime
    generation: int
    token: str | None

    def dumps(self) -> str:
        return json.dumps(
            {
                "mode": self.mode,
                "since": self.since.isoformat() if self.since else None,
                "started": self.started.isoformat(),
                "generation": self.generation,
                "token": self.token,
            }
        )

    @classmethod
    def loads(cls, text: str) -> _Resume:
        raw = json.loads(text)
        return cls(
            mode=raw["mode"],
            since=datetime.fromisoformat(raw["since"]) if raw["since"] else None,
            started=datetime.fromisoformat(raw["started"]),
            generation=int(raw["generation"]),
            token=raw["token"],
        )


def sync_mirror(
    ctx: WorkerContext,
    spec: str,
    *,
    full: bool = False,
    progress: Progress | None = None,
    page_policy: RetryPolicy | None = None,
) -> SyncResult:
    """Sync `spec`'s CRM into the mirror; resumes an unfinished sync of the same kind."""
    with ctx.ledger.read() as connection:
        revision = active_revision(connection)
    rule = _rule_of(revision.text, revision.path) if revision else None
    connector = ctx.connector(spec, rule)
    skip_missing(connector, rule)
    retries = _Retries(ctx, page_policy or DEFAULT_PAGE_POLICY)
    account = retries.run(connector.account_id)
    now = ctx.now()
    with ctx.ledger.write() as connection:
        bind_crm(connection, spec if not spec.startswith("csv:") else "csv", account, now=now)
        run_id = start_run(
            connection,
            kind=RunKind.SYNC,
            actor=ctx.actor,
            source=spec,
            now=now,
            rule_revision_id=revision.id if revision else None,
            rule_revision=revision.revision if revision else None,
            rule_sha256=revision.sha256 if revision else None,
        )
    result = SyncResult(run_id=run_id, mode="incremental")
    retries.result = result
    try:
        retries.run(lambda: _sync_owners(ctx, connector, result))
        _sync_companies(ctx, connector, spec, rule, result, full, progress, retries)
        retries.run(lambda: _sync_archived(ctx, connector, result))
        if rule is not None and (rule.activity.source == "owner" or rule.activity.off_territory):
            retries.run(lambda: _sync_activity(ctx, connector, result))
    except ConnectorError as exc:
        _record_failed(ctx, run_id, result, exc.to_json())
        raise
    except BaseException as exc:
        # Ctrl-C, a task's time limit, a bug: the pages stored are kept and the next sync
        # resumes, but the run is over. Left `running`, it read as a sync still under way.
        _record_stopped(ctx, run_id, result, exc)
        raise
    with ctx.ledger.write() as connection:
        finish_run(connection, run_id, state=RunState.DONE, now=ctx.now(), counts=result.counts())
    return result


def _record_stopped(
    ctx: WorkerContext, run_id: int, result: SyncResult, exc: BaseException
) -> None:
    """Record `run_id` failed by `exc`, which is raised again; never mask it if this fails."""
    interrupted = isinstance(exc, KeyboardInterrupt)
    error = {
        "class": "Interrupted" if interrupted else type(exc).__name__,
        "message": (
            "interrupted before the sync finished"
            if interrupted
            else "stopped before the sync finished"
        )
        + "; the pages stored are kept and the next sync resumes after them",
        "retryable": True,
    }
    # The ledger may be what failed: keep the first error, never mask it.
    with contextlib.suppress(Exception):
        _record_failed(ctx, run_id, result, error)


def _record_failed(
    ctx: WorkerContext, run_id: int, result: SyncResult, error: dict[str, Any]
) -> None:
    with ctx.ledger.write() as connection:
        finish_run(
            connection,
            run_id,
            state=RunState.FAILED,
            now=ctx.now(),
            counts=result.counts(),
            error=error,
        )


class _Retries:
    """Retries of the sync's passes and pages under one policy, counted in `page_retries`.

    The policy bounds each stretch without progress, not the whole sync: a stored page starts
    the count again, so a long sync under steady faults goes on as long as pages get through,
    each failed page asked again from the token stored before it.
    """

    def __init__(self, ctx: WorkerContext, policy: RetryPolicy) -> None:
        self.ctx = ctx
        self.policy = policy
        self.result: SyncResult | None = None
        self.attempt = 0
        self.started = ctx.now()

    def run(self, step: Callable[[], T]) -> T:
        """`step()`, tried again after a failure the policy retries."""
        while True:
            try:
                value = step()
            except ConnectorError as exc:
                self.wait_or_raise(exc)
            else:
                self.progressed()
                return value

    def progressed(self) -> None:
        self.attempt = 0
        self.started = self.ctx.now()

    def wait_or_raise(self, error: ConnectorError) -> None:
        """Wait before the next try, or raise `error` when the policy allows none."""
        self.attempt += 1
        elapsed = (self.ctx.now() - self.started).total_seconds()
        wait = self.policy.retry_after(error, attempt=self.attempt, elapsed=elapsed)
        if wait is None:
            raise error
        if self.result is not None:
            self.result.page_retries += 1
        self.ctx.sleep(wait)


def _rule_of(text: str, path: str) -> RuleFile:
    from rules.loader import load_rules  # noqa: PLC0415 - only when a revision is active

    return load_rules(text, f"{path} (active revision)").rule


def _sync_owners(ctx: WorkerContext, connector: Connector, result: SyncResult) -> None:
    owners = list(connector.iter_owners())
    with ctx.ledger.write() as connection:
        result.departed = store_owners(connection, owners, now=ctx.now())
        # Kept until a departure run is recorded: a sync failing after this pass would
        # otherwise forget the departure (the mirror already knows the owner as inactive).
        add_pending_departures(connection, result.departed, now=ctx.now())
    result.owners = len(owners)


def _sync_companies(
    ctx: WorkerContext,
    connector: Connector,
    spec: str,
    rule: RuleFile | None,
    result: SyncResult,
    full: bool,
    progress: Progress | None,
    retries: _Retries,
) -> None:
    signature = read_signature(rule, spec) if rule is not None else ("crm=" + spec, "no-rule")
    with ctx.ledger.read() as connection:
        state = stream_state(connection, COMPANIES_STREAM)
        baseline = get_fact(connection, MIRROR_BASELINE)
    resume = _Resume.loads(state.resume) if state.resume else None
    wants_full = full or state.cursor is None or state.fields != signature
    if resume is not None and (resume.mode == "full" or not wants_full):
        result.resumed = True
    else:
        # The connector re-reads its look-back before `since` (TERRITORY_LOOK_BACK_SECONDS).
        since = None if wants_full else datetime.fromisoformat(state.cursor or "")
        resume = _Resume(
            mode="full" if wants_full else "incremental",
            since=since,
            started=ctx.now(),
            generation=state.generation + 1 if wants_full else state.generation,
            token=None,
        )
    result.mode = resume.mode
    while True:
        try:
            for page in connector.iter_company_pages(since=resume.since, resume=resume.token):
                resume = _store_page(ctx, page, resume, state, rule, result)
                retries.progressed()
                if progress is not None:
                    progress(len(page.accounts))
            break
        except ConnectorError as exc:
            retries.wait_or_raise(exc)
    with ctx.ledger.write() as connection:
        if resume.mode == "full":
            gone = remove_unseen(connection, resume.generation)
            result.removed += len(gone)
            if baseline is not None:
                result.drift_repaired += len(gone)
        save_stream_state(
            connection,
            StreamState(
                stream=COMPANIES_STREAM,
                cursor=resume.started.isoformat(),
                resume=None,
                run_id=None,
                fields=signature if resume.mode == "full" else state.fields,
                generation=resume.generation,
            ),
            now=ctx.now(),
        )
        if baseline is None and resume.mode == "full":
            # Set when the first full sync ends: what it stored is the baseline, not new.
            set_fact(connection, MIRROR_BASELINE, ctx.now().isoformat(), now=ctx.now())


def _store_page(
    ctx: WorkerContext,
    page: CompanyPage,
    resume: _Resume,
    state: StreamState,
    rule: RuleFile | None,
    result: SyncResult,
) -> _Resume:
    """Store one page and the token after it, in one transaction."""
    now = ctx.now()
    following = _Resume(resume.mode, resume.since, resume.started, resume.generation, page.resume)
    with ctx.ledger.write() as connection:
        baseline = get_fact(connection, MIRROR_BASELINE)
        moves, new = store_companies(
            connection, page.accounts, now=now, generation=resume.generation
        )
        result.companies += len(page.accounts)
        result.new += new
        if resume.mode == "full" and baseline is not None:
            result.drift_repaired += new + len(moves)
        if moves and rule is not None and rule.changes.respect_manual_days > 0:
            pins = _hand_edits(connection, moves, rule, ctx)
            result.hand_edits += add_pins(connection, pins, now=now)
        save_stream_state(
            connection,
            StreamState(
                stream=COMPANIES_STREAM,
                cursor=state.cursor,
                resume=following.dumps() if page.resume is not None else None,
                run_id=result.run_id,
                fields=state.fields,
                generation=state.generation,
            ),
            now=now,
        )
    return following


def _hand_edits(
    connection: sa.Connection, moves: Sequence[OwnerMove], rule: RuleFile, ctx: WorkerContext
) -> list[Pin]:
    """Owner moves this service did not make: each pins its account as a manual choice."""
    ours = written_owner_of(connection, [m.account_id for m in moves])
    pending = ob.open_changes(connection)
    until = ctx.today() + timedelta(days=rule.changes.respect_manual_days)
    pins: list[Pin] = []
    for move in moves:
        if move.account_id in ours and ours[move.account_id] == move.after:
            continue
        change = pending.get(move.account_id)
        if change is not None and change.to_owner_id == move.after:
            continue  # our write landed before the ledger recorded it
        pins.append(Pin(move.account_id, move.after, "hand_edit", until))
    return pins


def _stream_since(ctx: WorkerContext, stream: str, result: SyncResult) -> datetime | None:
    """Where an incremental sync reads `stream` from: its cursor (None: read it all)."""
    with ctx.ledger.read() as connection:
        cursor = stream_state(connection, stream).cursor
    if result.mode == "full" or cursor is None:
        return None
    return datetime.fromisoformat(cursor)


def _sync_archived(ctx: WorkerContext, connector: Connector, result: SyncResult) -> None:
    started = ctx.now()
    since = _stream_since(ctx, ARCHIVED_STREAM, result)
    gone = list(connector.iter_archived_company_ids(since=since))
    with ctx.ledger.write() as connection:
        result.removed += remove_companies(connection, gone)
        state = stream_state(connection, ARCHIVED_STREAM)
        save_stream_state(
            connection,
            StreamState(ARCHIVED_STREAM, started.isoformat(), None, None, None, state.generation),
            now=ctx.now(),
        )


def _sync_activity(ctx: WorkerContext, connector: Connector, result: SyncResult) -> None:
    started = ctx.now()
    since = _stream_since(ctx, ACTIVITY_STREAM, result)
    # Read the CRM first: a ledger write transaction never waits on it.
    touches = latest_touches(connector.iter_owner_activity(since=since))
    with ctx.ledger.write() as connection:
        result.activity_pairs = store_activity(connection, touches)
        save_stream_state(
            connection,
            StreamState(ACTIVITY_STREAM, started.isoformat(), None, None, None, 0),
            now=ctx.now(),
        )
