"""The plan's legend names what really holds a team outside its band.

`pinned_load_outside_band` is raised by any work balancing may not move: named and pinned
accounts, and also those `balance.protect` protects and those a `keep_owner` row keeps. The
legend said "named or pinned accounts alone", so a team held out by its protected tier-1
accounts, with no named or pinned account anywhere, read as a contradiction.
"""

from __future__ import annotations

from pathlib import Path

from tests.unit.cli_runs import AS_OF, run

RULES = """\
version: 1
revision: r1
fit:
  - band: A
    when: {employees: {gte: 1000}}
  - band: B
    when: {employees: {gte: 0}}
teams:
  - id: sales
    role: ae_full_cycle
    members: [{email: ana@example.com}, {email: bo@example.com}]
routing:
  rows:
    - id: everyone
      assign: {team: sales, strategy: balanced}
balance:
  tolerance: 0.10
  protect: {tiers: [1]}
"""


def protected_org(directory: Path) -> Path:
    """Ana owns the four largest accounts (tier 1, protected); sixteen small ones are open."""
    directory.mkdir()
    (directory / "rules.yaml").write_text(RULES, encoding="utf-8")
    (directory / "owners.csv").write_text(
        "id,email\no1,ana@example.com\no2,bo@example.com\n", encoding="utf-8"
    )
    rows = [
        f"c{i:02d},Co {i},o1,50000,900000000" if i <= 4 else f"c{i:02d},Co {i},,20,100000"
        for i in range(1, 21)
    ]
    (directory / "companies.csv").write_text(
        "id,name,owner_id,employees,annual_revenue\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    return directory


def test_a_team_held_out_by_protected_accounts_is_told_so(tmp_path: Path) -> None:
    org = protected_org(tmp_path / "org")

    result = run(
        "plan", "--rules", org / "rules.yaml", "--source", f"csv:{org}", "--as-of", AS_OF,
        "--allow-large-change",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "outside ±10%: pinned_load_outside_band" in result.output
    legend = next(
        line for line in result.output.splitlines() if line.startswith("pinned_load_outside_band:")
    )
    assert "protected" in legend
    assert "named or pinned accounts alone" not in legend
