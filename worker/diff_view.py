"""`territory diff`: what changes between two plans of the same org (another rule file, a lost rep).

Works on two plan documents, so it compares fresh plans and stored ones alike. Accounts are
walked in id order (both plans are sorted by account_id), so a million-account diff needs no
index of either side.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from worker.plan_views import owner_names
from worker.tables import NONE, Column, Section, index_text, number

GAP_FIGURES = (
    ("hot_warm_ab_over_capacity", "Hot/warm A/B accounts beyond capacity"),
    ("over_capacity", "Over capacity"),
    ("unassigned", "Unassigned"),
    ("watchlist", "Watchlist"),
    ("without_owner_after_plan", "Without owner after plan"),
)

_REP_FIGURES = ("accounts", "load_minutes", "index")


def _pairs(
    old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> Iterator[tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    """Assignments of both plans matched by account id (None where one plan lacks it)."""
    i = j = 0
    while i < len(old) or j < len(new):
        left = old[i]["account_id"] if i < len(old) else None
        right = new[j]["account_id"] if j < len(new) else None
        if right is None or (left is not None and left < right):
            yield old[i], None
            i += 1
        elif left is None or right < left:
            yield None, new[j]
            j += 1
        else:
            yield old[i], new[j]
            i, j = i + 1, j + 1


def _index_range(document: dict[str, Any], team: str) -> list[float] | None:
    indexes = [
        r["index"]
        for r in document["reps"]
        if r["team"] == team and r["active"] and r["index"] is not None
    ]
    return [min(indexes), max(indexes)] if indexes else None


def plan_diff(old: dict[str, Any], new: dict[str, Any], *, without: list[str]) -> dict[str, Any]:
    """The difference from `old` to `new` as JSON-ready values, every move listed.

    A move is an account whose planned owner differs; an account whose outcome changes with
    the same owner (e.g. assigned -> unassigned over capacity) is counted separately.
    """
    moves: list[dict[str, Any]] = []
    owner_changes = outcome_only = 0
    for before, after in _pairs(old["assignments"], new["assignments"]):
        owner_before = None if before is None else before["owner_id"]
        owner_after = None if after is None else after["owner_id"]
        outcome_before = None if before is None else before["outcome"]
        outcome_after = None if after is None else after["outcome"]
        if owner_before == owner_after:
            outcome_only += outcome_before != outcome_after
            continue
        owner_changes += 1
        moves.append(
            {
                "account_id": (before or after or {})["account_id"],
                "owner_id": [owner_before, owner_after],
                "outcome": [outcome_before, outcome_after],
                "reason": None if after is None else after["reason"],
                "why": None if after is None else after["trace"]["why"],
            }
        )
    reps_before = {r["owner_id"]: r for r in old["reps"]}
    reps_after = {r["owner_id"]: r for r in new["reps"]}
    reps: list[dict[str, Any]] = []
    for owner_id in sorted(reps_before.keys() | reps_after.keys()):
        b, a = reps_before.get(owner_id), reps_after.get(owner_id)
        entry = {
            "owner_id": owner_id,
            "email": (a or b or {})["email"],
            "team": [None if b is None else b["team"], None if a is None else a["team"]],
            "active": [None if b is None else b["active"], None if a is None else a["active"]],
        }
        for key in _REP_FIGURES:
            entry[key] = [None if b is None else b[key], None if a is None else a[key]]
        if any(entry[k][0] != entry[k][1] for k in ("team", "active", *_REP_FIGURES)):
            reps.append(entry)
    teams_before = {t["team"]: t for t in old.get("teams", [])}
    teams_after = {t["team"]: t for t in new.get("teams", [])}
    teams = []
    for team in sorted(teams_before.keys() | teams_after.keys()):
        b, a = teams_before.get(team), teams_after.get(team)
        teams.append(
            {
                "team": team,
                "within_tolerance": [b and b["within_tolerance"], a and a["within_tolerance"]],
                "infeasible_reason": [b and b["infeasible_reason"], a and a["infeasible_reason"]],
                "index_range": [_index_range(old, team), _index_range(new, team)],
            }
        )
    gap_keys = [key for key, _ in GAP_FIGURES]
    gap = {key: [old["gap"][key], new["gap"][key]] for key in gap_keys}
    gap["reps_needed"] = [old["gap"]["reps_needed"]["total"], new["gap"]["reps_needed"]["total"]]
    return {
        "as_of": [old["as_of"], new["as_of"]],
        "rule": [old["rule"], new["rule"]],
        "without": without,
        "accounts": len(new["assignments"]),
        "owner_changes": owner_changes,
        "outcome_only_changes": outcome_only,
        "moves": moves,
        "reps": reps,
        "reps_unchanged": len(reps_before.keys() | reps_after.keys()) - len(reps),
        "teams": teams,
        "gap": gap,
        "owners": owner_names(old) | owner_names(new),
    }


def _arrow(before: Any, after: Any, *, shown: str = "") -> str:
    def text(value: Any) -> str:
        if value is None:
            return NONE
        if shown == "index":
            return index_text(value)
        if isinstance(value, float):
            return number(value)
        return str(value)

    if before == after:
        return text(after)
    return f"{text(before)} -> {text(after)}"


def _delta(before: float | None, after: float | None) -> str:
    if before is None or after is None or before == after:
        return ""
    return f"{after - before:+,.0f}"


def diff_heading(diff: dict[str, Any]) -> list[str]:
    """The lines above the diff tables: what is compared with what."""
    old_rule, new_rule = diff["rule"]
    compared = (
        f"What-if as of {diff['as_of'][1]}: rule revision {old_rule['revision']} "
        f"(sha256 {old_rule['sha256'][:12]}) -> {new_rule['revision']} "
        f"(sha256 {new_rule['sha256'][:12]})"
    )
    lines = [compared]
    if diff["without"]:
        lines.append(f"New side without: {', '.join(diff['without'])} (marked inactive)")
    lines.append(
        f"{diff['owner_changes']:,} of {diff['accounts']:,} accounts would change owner; "
        f"{diff['outcome_only_changes']:,} more change outcome with the same owner"
    )
    return lines


def diff_sections(diff: dict[str, Any], *, shown: int) -> list[Section]:
    """Moves (the first `shown`), per-rep deltas, team balance and the gap, before -> after."""
    names: dict[str, str] = diff["owners"]

    def who(owner_id: str | None) -> str:
        return NONE if owner_id is None else names.get(owner_id, owner_id)

    listed = diff["moves"][:shown]
    moves = Section(
        title=f"Owner changes (first {len(listed):,} of {diff['owner_changes']:,})",
        columns=(
            Column("Account"),
            Column("Owner before"),
            Column("Owner after"),
            Column("Outcome"),
            Column("Reason after"),
        ),
    )
    for move in listed:
        moves.rows.append(
            (
                move["account_id"],
                who(move["owner_id"][0]),
                who(move["owner_id"][1]),
                _arrow(*move["outcome"]),
                f"{move['reason'] or NONE} ({move['why'] or NONE})",
            )
        )
    reps = Section(
        title="Reps whose book changes",
        columns=(
            Column("Rep"),
            Column("Team"),
            Column("Accounts", "right"),
            Column("Δ", "right"),
            Column("Load minutes", "right"),
            Column("Δ", "right"),
            Column("Index", "right"),
        ),
    )
    for rep in diff["reps"]:
        accounts, load = rep["accounts"], rep["load_minutes"]
        status = "" if rep["active"][1] is not False else " (inactive)"
        reps.rows.append(
            (
                rep["email"] + status,
                _arrow(*rep["team"]),
                _arrow(*accounts),
                _delta(*accounts),
                _arrow(*load),
                _delta(*load),
                _arrow(*rep["index"], shown="index"),
            )
        )
    reps.notes.append(f"{diff['reps_unchanged']:,} other rep(s) unchanged.")
    teams = Section(
        title="Team balance",
        columns=(Column("Team"), Column("Index range"), Column("Verdict")),
    )
    for team in diff["teams"]:
        ranges = [NONE if r is None else f"{r[0]:.2f}-{r[1]:.2f}" for r in team["index_range"]]
        verdicts = [
            NONE if within is None else "within" if within else f"outside: {cause}"
            for within, cause in zip(
                team["within_tolerance"], team["infeasible_reason"], strict=True
            )
        ]
        teams.rows.append((team["team"], _arrow(*ranges), _arrow(*verdicts)))
    gap = Section(
        title="Gap",
        columns=(Column("Figure"), Column("Before", "right"), Column("After", "right")),
    )
    for key, label in (*GAP_FIGURES, ("reps_needed", "Reps needed")):
        before, after = diff["gap"][key]
        gap.rows.append((label, f"{before:,}", f"{after:,}"))
    return [moves, reps, teams, gap]
