"""A dry run reads the CRM as the real run would and lists the same actions, revision after
revision."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sandbox.sample import write_sample
from tests.worker.conftest import Clock
from worker.activation import activate
from worker.approvals import approve_run
from worker.context import WorkerContext
from worker.ledger import Ledger
from worker.planning import plan_from_ledger
from worker.settings import Settings
from worker.steps import sync_step
from worker.writeback import apply_due

EMEA_TEAM = "assign: {team: emea-midmarket, strategy: balanced}"
NA_TEAM = "assign: {team: na-midmarket, strategy: balanced}"
REVISIONS = (
    ("notice_days: 30", "notice_days: 0"),  # everything due at once
    (
        f"id: emea\n      when: {{region: {{eq: EMEA}}}}\n      {EMEA_TEAM}",
        f"id: emea\n      when: {{region: {{eq: EMEA}}}}\n      {NA_TEAM}",
    ),  # a re-cut
    (
        f"id: emea\n      when: {{region: {{eq: EMEA}}}}\n      {NA_TEAM}",
        f"id: emea\n      when: {{region: {{eq: EMEA}}}}\n      {EMEA_TEAM}",
    ),  # and back
)


def test_the_dry_run_lists_what_the_real_run_does_for_three_rule_revisions(
    ledger: Ledger, tmp_path: Path
) -> None:
    org = tmp_path / "org"
    write_sample(org, accounts=1_000, reps=12, seed=11, flavour="canonical")
    clock = Clock(datetime(2027, 1, 4, 9, 0, tzinfo=UTC))
    ctx = WorkerContext(settings=Settings(database_url=None), ledger=ledger, actor="t", clock=clock)
    spec = f"csv:{org}"
    text = (org / "rules.yaml").read_text(encoding="utf-8")
    compared = 0
    for number, (old, new) in enumerate(REVISIONS, start=1):
        assert old in text
        text = text.replace(old, new).replace('revision: "', f'revision: "r{number}-', 1)
        activate(ctx, "rules.yaml", text)
        sync_step(ctx, spec=spec, full=number == 1)
        run = plan_from_ledger(ctx, save=True)
        assert run.run_id is not None
        if run.held:
            approve_run(ctx, run.run_id)
        dry = apply_due(ctx, dry_run=True)
        real = apply_due(ctx)
        assert [(r.change_id, r.action) for r in dry.rows] == [
            (r.change_id, r.action) for r in real.rows
        ]
        assert real.rows, f"revision {number} makes changes to compare"
        compared += len(real.rows)
        clock.advance(days=1)
    assert compared > 60, "the revisions make real changes to compare"
