"""Rule references the data cannot satisfy: warnings found once a snapshot is loaded."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rules.domain import Snapshot
from rules.errors import Location, RuleIssue
from rules.reasons import InfeasibleCause, Outcome
from rules.schema import RuleFile
from rules.values import UnmappedCount
from rules.yaml_source import Path, format_path

Locate = Callable[[Path], Location]

# Report a field's unmapped share when it is at least this large.
UNMAPPED_WARNING_SHARE = 0.01


def check_rule_against_data(
    rule: RuleFile,
    snapshot: Snapshot,
    locate: Locate,
    unmapped: Mapping[str, UnmappedCount],
) -> list[RuleIssue]:
    """Return warnings for rule references the snapshot cannot satisfy, and unmapped values."""
    issues: list[RuleIssue] = []

    def warn(path: Path, message: str) -> None:
        issues.append(RuleIssue(locate(path), format_path(path), message, severity="warning"))

    owners = {o.email.lower(): o for o in snapshot.owners}
    for t, team in enumerate(rule.teams):
        for m, member in enumerate(team.members):
            owner = owners.get(member.email)
            path: Path = ("teams", t, "members", m, "email")
            if owner is None:
                warn(path, f"no CRM owner has the email {member.email}; this rep gets nothing")
            elif not owner.active:
                warn(path, f"{member.email} is an inactive owner; this rep gets nothing")

    by_id = {a.id for a in snapshot.accounts}
    by_domain = {a.domain.lower() for a in snapshot.accounts if a.domain}
    by_name = {a.name.lower() for a in snapshot.accounts if a.name}
    for i, named in enumerate(rule.named_accounts):
        ref = named.account
        matched = (
            (ref.id is not None and ref.id in by_id)
            or (ref.domain is not None and ref.domain.lower() in by_domain)
            or (ref.name is not None and ref.name.lower() in by_name)
        )
        if not matched:
            shown = ref.id or ref.domain or ref.name
            warn(("named_accounts", i, "account"), f"no company matches '{shown}'")
        if named.owner not in owners:
            warn(("named_accounts", i, "owner"), f"no CRM owner has the email {named.owner}")

    staffed = {
        team.id
        for team in rule.teams
        if any((o := owners.get(m.email)) is not None and o.active for m in team.members)
    }
    unstaffed_seen: set[str] = set()
    for r, row in enumerate(rule.routing.rows):
        holding = row.assign.holding_owner
        if holding is not None and holding not in owners:
            warn(
                ("routing", "rows", r, "assign", "holding_owner"),
                f"no CRM owner has the email {holding}; nothing can be parked there",
            )
        team_id = row.assign.team
        if row.assign.outcome is not Outcome.ASSIGNED or team_id is None:
            continue
        # Once per team, at the first row that sends it accounts.
        if team_id not in staffed and team_id not in unstaffed_seen:
            unstaffed_seen.add(team_id)
            warn(("routing", "rows", r, "assign", "team"), _unstaffed(rule, team_id))

    for field in sorted(unmapped):
        count = unmapped[field]
        if count.total and count.share >= UNMAPPED_WARNING_SHARE:
            examples = ", ".join(f"'{value}' ({n})" for value, n in count.unmapped.most_common(5))
            path = ("values", field) if field in rule.values else ()
            warn(
                path,
                f"{count.share:.1%} of {field} values ({count.unmapped_total} of {count.total}) "
                f"match no `values:` entry and no value the rules use, e.g. {examples}; such "
                "accounts fall through to later routing rows",
            )
    return issues


def check_rows_without_an_owner(rule: RuleFile, locate: Locate, crm: str) -> list[RuleIssue]:
    """Warnings for routing rows that send accounts to no owner (unassigned or watchlist
    without a `holding_owner`), for a `crm` that requires an owner on every account
    (Salesforce): there such a change (an account of a departed or unknown owner routed to the
    row) fails with HOLDING_OWNER_REQUIRED, nothing sent."""
    issues: list[RuleIssue] = []
    for r, row in enumerate(rule.routing.rows):
        assign = row.assign
        if assign.outcome is Outcome.ASSIGNED or assign.holding_owner is not None:
            continue
        path: Path = ("routing", "rows", r, "assign")
        message = (
            f"row '{row.id}' leaves accounts {assign.outcome} without a holding_owner: {crm} "
            "requires an owner on every account, so moving an account of a departed or unknown "
            "owner here fails with HOLDING_OWNER_REQUIRED (nothing is sent); name a "
            "holding_owner to park them with"
        )
        issues.append(RuleIssue(locate(path), format_path(path), message, severity="warning"))
    return issues


def _unstaffed(rule: RuleFile, team_id: str) -> str:
    members = len(rule.team(team_id).members)
    who = (
        "it has no members"
        if members == 0
        else f"none of its {members} member(s) is an active CRM owner"
    )
    return (
        f"team '{team_id}' has no active member ({who}); the accounts this row sends there are "
        f"left unassigned (over capacity) and the plan shows the team outside its band "
        f"({InfeasibleCause.NO_ACTIVE_MEMBERS})"
    )
