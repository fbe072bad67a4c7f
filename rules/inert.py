"""Settings a rule file may carry that no code acts on yet, so `validate` can say so plainly.

One entry per setting: where the file writes it and what does not happen yet. An entry goes
when the code that acts on its setting lands; the test beside this module lists them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from rules.errors import RuleIssue
from rules.loader import LoadedRules
from rules.schema import RuleFile
from rules.yaml_source import Path, format_path

NOT_YET = "accepted but not yet acted on"


@dataclass(frozen=True, slots=True)
class InertSetting:
    """A setting nothing acts on yet: the places a file writes it, and what does not happen."""

    written: Callable[[RuleFile], list[Path]]
    effect: str


def _written(*keys: str) -> Callable[[RuleFile], list[Path]]:
    """The path `keys` when the file writes every key along it (defaults say nothing)."""

    def find(rule: RuleFile) -> list[Path]:
        model: object = rule
        for key in keys:
            if not isinstance(model, BaseModel) or key not in model.model_fields_set:
                return []
            model = getattr(model, key)
        return [keys]

    return find


def _team_recipients(rule: RuleFile) -> list[Path]:
    return [
        ("teams", t, key)
        for t, team in enumerate(rule.teams)
        for key in ("manager", "escalate_to")
        if key in team.model_fields_set
    ]


INERT_SETTINGS: tuple[InertSetting, ...] = (
    InertSetting(
        _written("routing", "enrichment_wait_minutes"),
        "new accounts are not yet routed as they arrive, so none waits for enrichment",
    ),
    InertSetting(
        _written("routing", "keep_creator"),
        "the rep who created an account is not read yet; new accounts route like any other",
    ),
    InertSetting(_written("coverage"), "coverage is not measured or reported yet"),
    InertSetting(_written("neglect"), "no neglect alert is raised yet"),
    InertSetting(
        _written("activity"),
        "what counts as a touch feeds coverage, neglect and off-territory reports, none of "
        "which is produced yet",
    ),
    InertSetting(_written("alerts"), "no alert is sent yet"),
    InertSetting(
        _team_recipients, "no alert is sent yet, so no team's manager or escalate_to hears of it"
    ),
)


def inert_settings(loaded: LoadedRules) -> list[RuleIssue]:
    """A located notice for each setting `loaded` writes that no code acts on yet (once per
    setting, at the first place the file writes it), in file order."""
    notices = []
    for setting in INERT_SETTINGS:
        places = setting.written(loaded.rule)
        if places:
            path = places[0]
            notices.append(
                RuleIssue(
                    loaded.document.locate(path, key=True),
                    format_path(path),
                    f"{NOT_YET}: {setting.effect}",
                    severity="notice",
                )
            )
    return sorted(notices, key=lambda n: (n.location.line, n.location.column))
