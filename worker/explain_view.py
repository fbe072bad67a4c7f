"""`territory explain`: why one account goes where it goes, read from the plan document alone.

The explanation is built from the account's assignment, its decision trace, its change and the
tier cut-offs (docs/plan-format.md), never by re-deciding anything: it cannot disagree with the
plan it explains, and a stored plan explains instantly at any size.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rules.reasons import NOTICE_REASONS
from worker.plan_file import find_by_account
from worker.plan_views import change_kind, owner_names
from worker.tables import number, section_table


def explain_account(document: dict[str, Any], account_id: str) -> dict[str, Any] | None:
    """The explanation of `account_id` in `document` as JSON-ready values; None if unknown."""
    assignment = find_by_account(document["assignments"], account_id)
    if assignment is None:
        return None
    change = find_by_account(document["changes"], account_id)
    trace = assignment["trace"]
    names = owner_names(document)
    as_of = date.fromisoformat(document["as_of"])
    decision = _decision(assignment, trace, names)
    mentioned = [assignment["owner_id"], trace["inputs"]["owner_id"]]
    mentioned += [c["owner_id"] for c in decision["candidates"]]
    if change is not None:
        mentioned += [change["from_owner_id"], change["to_owner_id"]]
    return {
        "account_id": account_id,
        "as_of": document["as_of"],
        "rule": {"revision": document["rule"]["revision"], "sha256": document["rule"]["sha256"]},
        "owner_id": assignment["owner_id"],
        "outcome": assignment["outcome"],
        "team": assignment["team"],
        "reason": assignment["reason"],
        "status": trace["status"],
        "inputs": trace["inputs"],
        "fit": {"band": assignment["fit_band"], "row": trace["fit_row"]},
        "intent": _intent(assignment, trace, as_of),
        "potential": _potential(assignment, document["tier_cutoffs"]),
        "routing": {"row": assignment["routing_row"], "line": trace["routing_line"]},
        "decision": decision,
        "change": None if change is None else _change(change, document, names),
        # Emails of the owners mentioned, where the plan lists them (reps of a team).
        "owners": {o: names.get(o) for o in sorted({o for o in mentioned if o is not None})},
    }


def _who(owner_id: str | None, names: dict[str, str]) -> str:
    if owner_id is None:
        return "no owner"
    email = names.get(owner_id)
    return f"{email} ({owner_id})" if email else owner_id


def _intent(assignment: dict[str, Any], trace: dict[str, Any], as_of: date) -> dict[str, Any]:
    signal = trace["signal"]
    if signal is None:
        return {
            "tier": assignment["intent"],
            "signal": None,
            "date": None,
            "age_days": None,
            "text": f"{assignment['intent']}: no counted signal on or before {as_of}",
        }
    name, when = signal
    age = (as_of - date.fromisoformat(when)).days
    text = f"{assignment['intent']}: latest signal {name} on {when}, {age} days before {as_of}"
    if assignment["intent"] == "cold" and assignment["fit_band"] not in ("A", "B"):
        text += f" (only fit A/B can be hot or warm; this is {assignment['fit_band']})"
    return {
        "tier": assignment["intent"],
        "signal": name,
        "date": when,
        "age_days": age,
        "text": text,
    }


def _potential(assignment: dict[str, Any], cutoffs: dict[str, Any]) -> dict[str, Any]:
    tier1, tier2 = cutoffs["tier1"]["min_potential"], cutoffs["tier2"]["min_potential"]
    potential, tier = assignment["potential"], assignment["tier"]
    if assignment["fit_band"] == "D":
        text = f"tier {tier}: band D accounts are not ranked"
    else:
        bounds = []
        if tier1 is not None:
            bounds.append(f"tier 1 from {tier1:g}")
        if tier2 is not None:
            bounds.append(f"tier 2 from {tier2:g}")
        ranked = cutoffs["ranked_accounts"]
        text = f"tier {tier} among {ranked:,} ranked A-C accounts"
        text += f" ({', '.join(bounds)})" if bounds else ""
    return {
        "value": potential,
        "tier": tier,
        "tier1_min": tier1,
        "tier2_min": tier2,
        "text": f"potential {potential:g}; {text}",
    }


def _candidates(
    trace: dict[str, Any], owner_id: str | None, names: dict[str, str]
) -> list[dict[str, Any]]:
    """The reps looked at, with why each lost: the trace lists the chosen rep first, then the
    reps passed over for lack of room (full), then the runner-up (next)."""
    listed = trace.get("candidates") or []
    if not listed:
        return []
    notes = {
        "full": "no room (minutes or max accounts)",
        "next": "more loaded (the runner-up)",
    }
    out: list[dict[str, Any]] = []
    for candidate_id, index, role in listed:
        if role == "chosen":
            note = "chosen" if candidate_id == owner_id else "chosen first, moved by balancing"
        else:
            note = notes.get(role, role)
        out.append(
            {
                "owner_id": candidate_id,
                "email": names.get(candidate_id),
                "index": index,
                "note": note,
            }
        )
    return out


def _parked_owner(assignment: dict[str, Any], trace: dict[str, Any], names: dict[str, str]) -> str:
    """Who holds an account no rep works (watchlist, unassigned, over capacity), and why."""
    owner, previous = assignment["owner_id"], trace["inputs"]["owner_id"]
    if owner is not None and owner == previous:
        return f"it keeps its CRM owner {_who(owner, names)}"
    if owner is not None:
        return f"it goes to the row's holding owner {_who(owner, names)}"
    if previous is not None and trace["status"] != "active":
        return f"its inactive or unknown owner {previous} is cleared"
    return "it stays without an owner"


def _decision(
    assignment: dict[str, Any], trace: dict[str, Any], names: dict[str, str]
) -> dict[str, Any]:
    why, team = trace["why"], assignment["team"]
    owner = _who(assignment["owner_id"], names)
    previous = _who(trace["inputs"]["owner_id"], names)
    row = assignment["routing_row"]
    candidates = _candidates(trace, assignment["owner_id"], names)
    parked = _parked_owner(assignment, trace, names)
    texts = {
        "continuity": f"kept with {owner}: an eligible member of {team} with room in both budgets",
        "affinity": f"placed on {owner}, whose industries include "
        f"{trace['inputs']['industry']}, with room and within the band",
        "least_loaded": f"placed on {owner}, the least-loaded rep of {team} with room "
        "(index = work share / capacity share, before this account)",
        "rebalance": f"moved from {previous} to {owner} to bring {team} within its balance "
        "band with the fewest moves",
        "named": f"named account (named_accounts[{trace.get('named')}] of the rule file) held by "
        f"{owner} until it expires, even above capacity",
        "pinned": f"owner set by hand (or territory_lock) kept with {owner}; counts toward load",
        "hierarchy": f"follows its ultimate parent {trace.get('parent')}, planned to {owner}",
        "watchlist": f"routing row {row} puts it on the {team} watchlist, counted toward no "
        f"rep's capacity; {parked}",
        "unassigned": f"routing row {row} leaves it unassigned; {parked}",
        "over_capacity": f"no rep of {team} had room in minutes or accounts: unassigned (over "
        f"capacity), shown in the gap analysis; {parked}",
    }
    text = texts.get(why, f"{why}: planned owner {owner}")
    if candidates and candidates[0]["note"] != "chosen":
        # A pool account balancing moved later keeps the why of its first placement.
        first = _who(candidates[0]["owner_id"], names)
        text = (
            f"placed first on {first} ({why}), then moved to {owner} to bring {team} within "
            "its balance band with the fewest moves"
        )
    decision: dict[str, Any] = {"why": why, "text": text, "candidates": candidates}
    if "parent" in trace:
        decision["parent"] = trace["parent"]
    if "named" in trace:
        decision["named"] = trace["named"]
    return decision


def _change(
    change: dict[str, Any], document: dict[str, Any], names: dict[str, str]
) -> dict[str, Any]:
    kind = change_kind(change)
    effective = change["effective_date"]
    away = {
        r["owner_id"]: r["out_of_office_until"]
        for r in document["reps"]
        if r.get("out_of_office_until")
    }
    returning = [
        _who(owner, names)
        for owner in (change["from_owner_id"], change["to_owner_id"])
        if owner is not None and away.get(owner) == effective
    ]
    if returning:
        when = f"held until {', '.join(returning)} is back from out of office"
    elif change["reason"] in NOTICE_REASONS:
        when = "after the notice period (never before the rule's effective_from)"
    elif change["reason"] == "hierarchy":
        when = "on its parent's change date"
    elif effective == document["as_of"]:
        when = "at once"
    else:
        when = "on the date the ledger already holds for this change"
    return {
        "change_id": change["change_id"],
        "from_owner_id": change["from_owner_id"],
        "to_owner_id": change["to_owner_id"],
        "reason": change["reason"],
        "kind": kind,
        "routing_row": change["routing_row"],
        "effective_date": effective,
        "supersedes": change.get("supersedes"),
        "text": f"{change['reason']} change ({kind}) effective {effective}: {when}",
    }


def _inputs_text(inputs: dict[str, Any]) -> str:
    parts = []
    for key, value in inputs.items():
        if value is None:
            continue
        shown = number(value) if isinstance(value, int | float) else str(value)
        parts.append(f"{key} {shown}")
    return ", ".join(parts) if parts else "(none)"


def _routing_text(explanation: dict[str, Any], rule_file: str | None) -> str:
    routing = explanation["routing"]
    where = f"{rule_file}:{routing['line']}" if rule_file else f"rule file line {routing['line']}"
    if routing["row"] is None:
        return f"not consulted for this decision (the first matching row is at {where})"
    if explanation["decision"]["why"] == "hierarchy":
        return f"{routing['row']} ({where}), overridden by the parent's owner"
    return f"{routing['row']} ({where})"


def _before_text(status: str, owner_id: str | None, names: dict[str, str]) -> str:
    """The account's owner before planning, in the words of rule 1 (docs/engine.md)."""
    if owner_id is None:
        return "no CRM owner (orphaned)"
    owner = _who(owner_id, names)
    return {
        "active": f"CRM owner {owner}, active",
        "departed": f"CRM owner {owner}, inactive (departed)",
        "orphaned": f"CRM owner {owner}, unknown to the CRM (orphaned)",
    }.get(status, f"CRM owner {owner}, {status}")


def explanation_lines(explanation: dict[str, Any], rule_file: str | None) -> list[tuple[str, str]]:
    """(label, text) lines of an explanation, as `render_explanation` prints them."""
    names = {o: email for o, email in explanation["owners"].items() if email}
    fit, decision, change = explanation["fit"], explanation["decision"], explanation["change"]
    account = (
        f"{explanation['account_id']} (plan as of {explanation['as_of']}, "
        f"rule revision {explanation['rule']['revision']})"
    )
    planned = (
        f"{_who(explanation['owner_id'], names)}, outcome {explanation['outcome']}, "
        f"team {explanation['team'] or '-'}, reason {explanation['reason']}"
    )
    before = _before_text(explanation["status"], explanation["inputs"]["owner_id"], names)
    inputs = {k: v for k, v in explanation["inputs"].items() if k != "owner_id"}
    matched = (
        f"row fit[{fit['row']}] matched first"
        if fit["row"] is not None
        else "no fit row matched (unmatched = D)"
    )
    return [
        ("Account", account),
        ("Planned owner", planned),
        ("Before", before),
        ("Inputs", _inputs_text(inputs)),
        ("Fit", f"band {fit['band']}: {matched}"),
        ("Intent", explanation["intent"]["text"]),
        ("Potential", explanation["potential"]["text"]),
        ("Routing row", _routing_text(explanation, rule_file)),
        ("Decision", f"{decision['why']}: {decision['text']}"),
        ("Change", change["text"] if change else "none: the planned owner is the CRM owner"),
    ]


def render_explanation(
    console: Console, explanation: dict[str, Any], rule_file: str | None
) -> None:
    """Print `explanation` as labelled lines and a candidates table.

    `rule_file` (the --rules path, when known) turns the routing line into FILE:LINE.
    """
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, text in explanation_lines(explanation, rule_file):
        grid.add_row(Text(label), Text(text))
    console.print(grid)
    candidates = explanation["decision"]["candidates"]
    if not candidates:
        return
    names = {o: email for o, email in explanation["owners"].items() if email}
    table = section_table("Candidates")
    table.add_column(Text("Rep"))
    table.add_column(Text("Index before"), justify="right")
    table.add_column(Text("Outcome"))
    for candidate in candidates:
        table.add_row(
            Text(_who(candidate["owner_id"], names)),
            Text(f"{candidate['index']:.3f}"),
            Text(candidate["note"]),
        )
    console.print(table)
