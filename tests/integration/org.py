"""The org the integration tests serve: `territory sample`'s output, and a rule revision of it
under which the first plan's changes are due at once and need no approval.

The sample's own rule gives discretionary changes 30 days of notice from its `effective_from`
and stops large runs for approval; these tests are about write-back, not about dates, so their
revision releases everything today, and reads no per-rep activity (a sync of owner activity
costs more calls than the companies themselves, and no test here is about it). It also parks
the cold watchlist (and out-of-scope accounts) with a rep of the SDR pool instead of the queue
user that holds them in the sample, so that most accounts change owner: the way to get
thousands of changes from a few thousand accounts.
"""

from __future__ import annotations

import csv
import re
from datetime import date, timedelta
from pathlib import Path

from ruamel.yaml import YAML

HOLDING_QUEUE = "holding_owner: territory-queue@example.com"


def team_members(rules: Path) -> dict[str, list[str]]:
    """Team id -> the emails of its members, as the rule file lists them."""
    teams = YAML(typ="safe").load(rules.read_text(encoding="utf-8"))["teams"]
    return {t["id"]: [m["email"] for m in t["members"]] for t in teams}


def holding_rep(rules: Path) -> str:
    """The rep the test revision parks accounts with: the SDR pool's first member."""
    return team_members(rules)["sdr-pool"][0]


def owner_ids(org: Path) -> dict[str, str]:
    """Email -> owner id, from the org's owners.csv."""
    with (org / "owners.csv").open(encoding="utf-8", newline="") as stream:
        return {row["email"]: row["id"] for row in csv.DictReader(stream)}


def park_with_a_rep(sample_rules: Path, out: Path, *, today: date) -> Path:
    """Write the test revision of `sample_rules` to `out` (see the module docstring)."""
    text = sample_rules.read_text(encoding="utf-8")
    rep = holding_rep(sample_rules)
    replaced = {
        HOLDING_QUEUE: f"holding_owner: {rep}",
        "assign: {unassigned: true}": f"assign: {{unassigned: true, holding_owner: {rep}}}",
        "notice_days: 30": "notice_days: 0",
        "max_share_per_run: 0.10": "max_share_per_run: 1.0",
        "max_forced_share: 0.30": "max_forced_share: 1.0",
        "off_territory: true": "off_territory: false",
    }
    for old, new in replaced.items():
        assert old in text, f"the sample's rules.yaml no longer says {old!r}"
        text = text.replace(old, new)
    text = re.sub(r"^revision: (\S+)", r"revision: \1-now", text, count=1, flags=re.MULTILINE)
    start = (today - timedelta(days=30)).isoformat()
    text = re.sub(
        r"^effective_from: \S+", f"effective_from: {start}", text, count=1, flags=re.MULTILINE
    )
    out.write_text(text, encoding="utf-8")
    return out
