"""What `territory plan` prints: coverage map, team balance, gap analysis, changes by reason.

Every view reads the plan *document* (docs/plan-format.md), never engine internals, so a fresh
plan and a stored plan.json render identically. Each table is built once as plain text cells
(`worker.tables.Section`) and rendered either as a Rich table or as Markdown.
"""

from __future__ import annotations

import csv
from collections import Counter
from typing import IO, Any

from rules.reasons import InfeasibleCause
from worker.tables import NONE, Column, Section, index_text, money, number, percent

# Index within 1 ± tolerance up to the rounding the plan applies (6 places).
BAND_SLACK = 1e-6
CAUSES: dict[InfeasibleCause, str] = {
    InfeasibleCause.ACCOUNT_EXCEEDS_BAND: "one account's work alone is more than a rep's band",
    InfeasibleCause.PINNED_LOAD_OUTSIDE_BAND: (
        "accounts balancing may not move (named, pinned, protected by balance.protect, or kept "
        "by a keep_owner row) alone put a rep outside the band"
    ),
    InfeasibleCause.DEMAND_EXCEEDS_CAPACITY: "the team has more work than capacity",
    InfeasibleCause.MOVE_BUDGET: "the quarter's balancing move budget ran out",
    InfeasibleCause.NO_ACTIVE_MEMBERS: "no member of the team is an active CRM owner",
}
ASSIGNMENT_COLUMNS = (
    "account_id",
    "owner_id",
    "outcome",
    "routing_row",
    "team",
    "fit_band",
    "intent",
    "tier",
    "potential",
    "reason",
)


def band_of(index: float | None, tolerance: float) -> str:
    """'in', 'high' or 'low' against 1 ± tolerance; '-' when the rep has no index."""
    if index is None:
        return NONE
    if index > 1 + tolerance + BAND_SLACK:
        return "high"
    if index < 1 - tolerance - BAND_SLACK:
        return "low"
    return "in"


def owner_names(document: dict[str, Any]) -> dict[str, str]:
    """Owner id -> email for every rep the plan lists (other owners show as their id)."""
    return {r["owner_id"]: r["email"] for r in document.get("reps", [])}


def plan_heading(document: dict[str, Any]) -> list[str]:
    """The lines above the tables: what was planned, under which rule, and the tier cut-offs."""
    rule, summary, cutoffs = document["rule"], document["summary"], document["tier_cutoffs"]
    tier1, tier2 = cutoffs["tier1"], cutoffs["tier2"]

    def cut(tier: dict[str, Any]) -> str:
        floor = tier["min_potential"]
        return f"{tier['accounts']:,}" + ("" if floor is None else f" (potential >= {floor:g})")

    planned = (
        f"Plan as of {document['as_of']}: rule revision {rule['revision']} (version "
        f"{rule['version']}, sha256 {rule['sha256'][:12]}), {summary['accounts']:,} accounts, "
        f"{summary['changes']:,} changes"
    )
    tiers = (
        f"Tiers: {cutoffs['ranked_accounts']:,} A-C accounts ranked; tier 1 = {cut(tier1)}, "
        f"tier 2 = {cut(tier2)}, tier 3 = the rest"
    )
    return [planned, tiers]


def _team_pipelines(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["team"]: t["pipeline"] for t in document.get("teams", []) if t.get("pipeline")}


def _rep_pipeline(rep: dict[str, Any], team: dict[str, Any] | None) -> tuple[str, str, str]:
    """(implied pipeline, accounts needed a quarter, pencils out) for one rep.

    The team's figures are linear in accounts and in quota, so a rep's share is exact: implied
    pipeline scales with the rep's planned accounts, accounts needed with the rep's quota.
    """
    if team is None or rep.get("quota") is None or not rep["active"]:
        return NONE, NONE, NONE
    planned = team["accounts_planned"]
    implied = team["implied_pipeline"] * rep["accounts"] / planned if planned else 0.0
    needed = team["accounts_per_quarter"] * rep["quota"] / team["quota"] if team["quota"] else 0.0
    pencils = rep["accounts"] >= needed - 1e-9
    return money(implied), number(needed), "yes" if pencils else "no"


def shared_domain(reps: list[dict[str, Any]]) -> str:
    """'@example.com' when every rep's email has that domain (so the map can drop it), else ''."""
    domains = {r["email"].rpartition("@")[2] for r in reps}
    return f"@{domains.pop()}" if len(domains) == 1 and reps else ""


def coverage_section(document: dict[str, Any]) -> Section:
    """The coverage map: one row per rep, grouped by team, against both capacity budgets."""
    tolerance = {t["team"]: t["tolerance"] for t in document.get("teams", [])}
    pipelines = _team_pipelines(document)
    section = Section(
        title="Coverage map",
        columns=(
            Column("Rep"),
            Column("Team"),
            Column("Tiers\n1/2/3", "right"),
            Column("Intent\nH/W/C", "right"),
            Column("Minutes\nload/cap", "right"),
            Column("Accts\nn/max", "right"),
            Column("Index", "right"),
            Column("Band"),
            Column("Quota", "right"),
            Column("Implied\npipeline", "right"),
            Column("Need\n/qtr", "right"),
            Column("Pencils\nout"),
        ),
    )
    domain = shared_domain(document["reps"])
    for rep in sorted(document["reps"], key=lambda r: (r["team"], r["email"], r["owner_id"])):
        tiers, intent = rep["by_tier"], rep["by_intent"]
        implied, needed, pencils = _rep_pipeline(rep, pipelines.get(rep["team"]))
        band = band_of(rep["index"], tolerance.get(rep["team"], 0.0))
        section.rows.append(
            (
                rep["email"].removesuffix(domain),
                rep["team"],
                f"{tiers['1']}/{tiers['2']}/{tiers['3']}",
                f"{intent['hot']}/{intent['warm']}/{intent['cold']}",
                f"{number(rep['load_minutes'])}/{number(rep['capacity_minutes'])}",
                f"{rep['accounts']:,}/{rep['max_accounts']:,}",
                index_text(rep["index"]),
                band if rep["active"] else "inactive",
                money(rep["quota"]),
                implied,
                needed,
                pencils,
            )
        )
    if domain:
        section.notes.append(f"Every rep's email ends in {domain}; the map shows the rest.")
    section.notes.append(
        "Need/qtr: accounts a quarter the rep's quota needs under the team's pipeline math; "
        "the quota pencils out when the planned accounts reach it."
    )
    away = [r for r in document["reps"] if r.get("out_of_office_until")]
    section.notes.extend(
        f"{r['email']} is out of office until {r['out_of_office_until']}: none of their changes "
        "takes effect before then."
        for r in sorted(away, key=lambda r: r["email"])
    )
    named = sum(r.get("named_accounts", 0) for r in document["reps"])
    pinned = sum(r.get("pinned_accounts", 0) for r in document["reps"])
    if named or pinned:
        section.notes.append(
            f"Loads include {named} named and {pinned} pinned account(s), held even above capacity."
        )
    return section


def balance_section(document: dict[str, Any]) -> Section:
    """Per team: the index range, the verdict against 1 ± tolerance, moves, pipeline math."""
    section = Section(
        title="Team balance",
        columns=(
            Column("Team"),
            Column("Reps", "right"),
            Column("Index\nmin-max", "right"),
            Column("Verdict"),
            Column("Moves\n/budget", "right"),
            Column("Accounts\nplanned", "right"),
            Column("Needed\n/quarter", "right"),
            Column("Quota\npencils out"),
        ),
    )
    causes: list[str] = []
    for team in document.get("teams", []):
        members = [r for r in document["reps"] if r["team"] == team["team"] and r["active"]]
        indexes = [r["index"] for r in members if r["index"] is not None]
        spread = f"{min(indexes):.2f}-{max(indexes):.2f}" if indexes else NONE
        tolerance = f"±{team['tolerance'] * 100:g}%"
        cause = team["infeasible_reason"]
        if team["within_tolerance"]:
            verdict = f"within {tolerance}"
        else:
            verdict = f"outside {tolerance}: {cause}"
            if cause not in causes:
                causes.append(cause)
        pipeline = team.get("pipeline")
        section.rows.append(
            (
                team["team"],
                str(len(members)),
                spread,
                verdict,
                f"{team['moves']}/{team['move_budget']}",
                number(pipeline["accounts_planned"]) if pipeline else NONE,
                number(pipeline["accounts_per_quarter"]) if pipeline else NONE,
                ("yes" if pipeline["pencils_out"] else "no") if pipeline else NONE,
            )
        )
    section.notes.extend(f"{cause}: {CAUSES[InfeasibleCause(cause)]}." for cause in causes)
    return section


def gap_section(document: dict[str, Any]) -> Section:
    """Accounts without real coverage, by fit band, and the reps the working gap implies."""
    gap = document["gap"]
    kinds = ("over_capacity", "unassigned", "watchlist", "without_owner")
    section = Section(
        title="Gap analysis",
        columns=(
            Column("Band"),
            Column("Over\ncapacity", "right"),
            Column("Unassigned", "right"),
            Column("Watchlist", "right"),
            Column("Without owner\nafter plan", "right"),
        ),
    )
    for band, counts in gap["by_band"].items():
        section.rows.append((band, *(f"{counts[k]:,}" for k in kinds)))
    section.total = (
        "All",
        *(f"{sum(c[k] for c in gap['by_band'].values()):,}" for k in kinds),
    )
    watch = ", ".join(f"{team} {n:,}" for team, n in gap["watchlist_by_team"].items())
    needed = gap["reps_needed"]
    by_team = ", ".join(f"{team} {n:,}" for team, n in needed["by_team"].items())
    section.notes.extend(
        [
            f"Hot/warm A/B accounts beyond capacity: {gap['hot_warm_ab_over_capacity']:,}",
            (
                f"Orphaned or departed before the plan: {gap['orphaned_before_plan']:,}; "
                f"without an owner after it: {gap['without_owner_after_plan']:,}"
            ),
            f"Watchlist: {gap['watchlist']:,}" + (f" ({watch})" if watch else ""),
            f"Reps needed to cover the over-capacity gap: {needed['total']:,}"
            + (f" ({by_team})" if by_team else ""),
        ]
    )
    return section


def change_kind(change: dict[str, Any]) -> str:
    """The approval share a change counts toward ('forced' or 'discretionary'); a hierarchy
    change says it follows its parent's."""
    share: str = change["share"]
    return f"{share}, with parent" if change["reason"] == "hierarchy" else share


def changes_section(document: dict[str, Any]) -> Section:
    """Owner changes counted by reason and share, with the range of their effective dates."""
    summary = document["summary"]
    counts: Counter[tuple[str, str]] = Counter()
    dates: dict[tuple[str, str], list[str]] = {}
    for change in document["changes"]:
        key = (change["reason"], change_kind(change))
        counts[key] += 1
        span = dates.setdefault(key, [change["effective_date"]] * 2)
        span[0], span[1] = (
            min(span[0], change["effective_date"]),
            max(span[1], change["effective_date"]),
        )
    section = Section(
        title="Changes by reason",
        columns=(Column("Reason"), Column("Kind"), Column("Changes", "right"), Column("Effective")),
    )
    for key in sorted(counts, key=lambda k: (-counts[k], k)):
        first, last = dates[key]
        section.rows.append(
            (
                *key,
                f"{counts[key]:,}",
                first if first == last else f"{first} .. {last}",
            )
        )
    section.total = ("All", "", f"{summary['changes']:,}", "")
    section.notes.append(approval_line(summary))
    return section


def approval_line(summary: dict[str, Any]) -> str:
    """Movement and forced shares against the rule's limits, and whether approval is needed."""
    approval = summary.get("approval", {})
    line = (
        f"Discretionary changes {summary['discretionary_changes']:,} = "
        f"{percent(summary['movement_share'])} of accounts (limit "
        f"{percent(approval.get('max_share_per_run', 1.0))}); forced changes "
        f"{summary['forced_changes']:,} = {percent(summary['forced_share'])} (limit "
        f"{percent(approval.get('max_forced_share', 1.0))})"
    )
    return line + ("; needs approval." if approval.get("needs_approval") else "; within limits.")


def plan_sections(document: dict[str, Any]) -> list[Section]:
    """Every table `territory plan` prints, in order."""
    return [
        coverage_section(document),
        balance_section(document),
        gap_section(document),
        changes_section(document),
    ]


def write_assignments_csv(document: dict[str, Any], stream: IO[str]) -> None:
    """Write the assignments as CSV (ASSIGNMENT_COLUMNS; empty cell for null) to `stream`."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(ASSIGNMENT_COLUMNS)
    for assignment in document["assignments"]:
        writer.writerow(
            "" if assignment[name] is None else assignment[name] for name in ASSIGNMENT_COLUMNS
        )
