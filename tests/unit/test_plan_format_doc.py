"""docs/plan-format.md documents every key `territory plan` writes, in the shapes it writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rules.reasons import ChangeReason, InfeasibleCause, KeptReason, Outcome, Share, Status, Why
from tests.unit.cli_runs import AS_OF, copy_org, run

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "plan-format.md").read_text(encoding="utf-8")


def documented(key: str) -> bool:
    """Whether the page has a table row for `key` (possibly as `parent.key` or `key.child`)."""
    row = rf"^\| `(?:[\w.]+\.)?{re.escape(key)}(?:\.[\w.]+)?` \|"
    return re.search(row, DOC, re.MULTILINE) is not None


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> dict:
    org = copy_org(tmp_path_factory.mktemp("org"))
    out = org / "plan.json"
    result = run(
        "plan", "--rules", org / "rules.yaml", "--source", f"csv:{org}", "--as-of", AS_OF,
        "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def test_every_key_written_has_a_row_on_the_page(plan: dict) -> None:
    traces = [a["trace"] for a in plan["assignments"]]
    keys = {
        *plan,
        *plan["summary"],
        *(k for a in plan["assignments"] for k in a),
        *(k for t in traces for k in t),
        *(k for c in plan["changes"] for k in c),
        *(k for r in plan["reps"] for k in r),
        *(k for t in plan["teams"] for k in t),
        *plan["gap"],
    }

    assert sorted(k for k in keys if not documented(k)) == []


def test_top_level_keys_are_listed_in_the_order_they_are_written(plan: dict) -> None:
    top = DOC[DOC.index("## Top level") : DOC.index("## rule")]

    assert re.findall(r"^\| `(\w+)` \|", top, re.MULTILINE) == list(plan)


def test_candidates_are_documented_as_the_triples_written(plan: dict) -> None:
    candidates = [c for a in plan["assignments"] for c in a["trace"].get("candidates", [])]

    assert candidates
    assert {len(c) for c in candidates} == {3}
    assert "`[owner_id, index, role]` triples" in DOC
    for role in {c[2] for c in candidates}:
        assert f"(role `{role}`)" in DOC


@pytest.mark.parametrize(
    "vocabulary", [Outcome, Status, Why, ChangeReason, KeptReason, Share, InfeasibleCause]
)
def test_every_word_of_the_plans_vocabulary_is_on_the_page(vocabulary: type) -> None:
    assert sorted(w.value for w in vocabulary if f"`{w.value}`" not in DOC) == []
