"""`territory validate|plan --source hubspot|salesforce` when the CRM cannot feed the rule.

Run in-process with the TERRITORY_* settings pointing at the sandbox, as a user would set
them. Before reading companies the CLI asks HubSpot's properties API or Salesforce's describe
which fields exist: a signal or field no CRM field feeds is a located warning naming the
`fields:` line to add, an error (exit 2, nothing planned) when a row tests it or when intent
is used and no signal is readable; a field that exists but is empty everywhere is a warning.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner, Result

from sandbox.server import RunningSandbox
from tests.connectors.conftest import control
from worker.cli import app

AS_OF = "2027-01-04"
SIGNALS = ("funding", "hiring", "leadership_change", "tech_adoption", "rfp", "product_usage")
ACCOUNTS = 300  # conftest.SMALL_ORG


def settings(sandbox: RunningSandbox, crm: str) -> dict[str, str | None]:
    """The TERRITORY_* environment for `crm` in the sandbox; any other TERRITORY_* unset."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("TERRITORY_")}
    info = sandbox.info
    if crm == "hubspot":
        env["TERRITORY_HUBSPOT_TOKEN"] = info.hubspot_token
        env["TERRITORY_HUBSPOT_BASE_URL"] = info.hubspot_url
    else:
        env["TERRITORY_SALESFORCE_INSTANCE_URL"] = info.salesforce_url
        env["TERRITORY_SALESFORCE_SESSION_ID"] = info.salesforce_session_id
        env["TERRITORY_SALESFORCE_CA_BUNDLE"] = info.ca_cert
    return env


def run(sandbox: RunningSandbox, crm: str, *args: str | Path) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args], env=settings(sandbox, crm))
    assert "Traceback" not in result.output, result.output
    return result


def validate(sandbox: RunningSandbox, crm: str, rules: Path, *extra: str) -> Result:
    return run(sandbox, crm, "validate", rules, "--source", crm, *extra)


def plan(sandbox: RunningSandbox, crm: str, rules: Path, out: Path) -> Result:
    return run(
        sandbox, crm, "plan", "--rules", rules, "--source", crm, "--as-of", AS_OF,
        "--allow-large-change", "--out", out, "--format", "json",
    )  # fmt: skip


RuleEdit = Callable[..., Path]


@pytest.fixture
def rules(sample_org: Path, tmp_path: Path) -> RuleEdit:
    """The sample's rules.yaml with each `old` -> `new` (a regular expression) applied once."""

    def edit(*changes: tuple[str, str]) -> Path:
        text = (sample_org / "rules.yaml").read_text(encoding="utf-8")
        for old, new in changes:
            text, count = re.subn(old, new, text, count=1, flags=re.MULTILINE)
            assert count == 1, old
        path = tmp_path / "rules.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return edit


def without_signal_lines(crm: str, keep: tuple[str, ...] = ()) -> tuple[tuple[str, str], ...]:
    """Edits that drop the `signals.*` lines under fields.`crm`, but those of `keep`."""
    value = "last_" if crm == "hubspot" else "Last_"  # last_funding_date, Last_Funding_Date__c
    return tuple(
        (rf"^    signals\.{signal}: {value}\S+\n", "") for signal in SIGNALS if signal not in keep
    )


def line_of(path: Path, needle: str) -> int:
    """The line of the last `needle` (fields.salesforce comes after fields.hubspot)."""
    text = path.read_text(encoding="utf-8")
    return text[: text.rindex(needle)].count("\n") + 1


# --- signals -----------------------------------------------------------------------------------


def test_signals_no_hubspot_property_feeds_refuse_validate_and_plan(
    sandbox: RunningSandbox, rules: RuleEdit, tmp_path: Path
) -> None:
    path = rules(*without_signal_lines("hubspot"))
    signals_line = line_of(path, "  signals: [funding")

    checked = validate(sandbox, "hubspot", path)
    planned = plan(sandbox, "hubspot", path, tmp_path / "plan.json")

    assert checked.exit_code == 2
    assert (
        f"{path}:{signals_line}:3: intent.signals: no HubSpot company property feeds any of the "
        "6 signal(s), so every account would be cold where intent is used"
    ) in checked.stderr
    assert (
        f"{path}:{signals_line}:13: warning: intent.signals[0]: signal 'funding': no HubSpot "
        'company property feeds it; add under fields.hubspot: "signals.funding: <property '
        'name>"'
    ) in checked.stderr
    assert checked.stderr.count(": warning: intent.signals[") == len(SIGNALS)
    assert planned.exit_code == 2
    assert planned.stdout == ""
    assert not (tmp_path / "plan.json").exists()


def test_one_mapped_signal_warns_for_the_others_and_the_plan_goes_ahead(
    sandbox: RunningSandbox, rules: RuleEdit, tmp_path: Path
) -> None:
    path = rules(*without_signal_lines("hubspot", keep=("funding",)))

    checked = validate(sandbox, "hubspot", path)
    planned = plan(sandbox, "hubspot", path, tmp_path / "plan.json")

    assert checked.exit_code == 0, checked.stderr
    assert checked.stderr.count(": warning: intent.signals[") == len(SIGNALS) - 1
    assert "signal 'funding'" not in checked.stderr
    assert planned.exit_code == 0, planned.stderr
    document = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert {row["intent"] for row in document["assignments"]} > {"cold"}


def test_a_salesforce_signal_field_the_org_lacks_is_left_out_of_the_query(
    sandbox: RunningSandbox, rules: RuleEdit, tmp_path: Path
) -> None:
    """Salesforce refuses a SOQL query naming a field it lacks: the CLI never sends one."""
    path = rules((r"Last_Funding_Date__c$", "Last_Funding_Dte__c"))

    checked = validate(sandbox, "salesforce", path)
    planned = plan(sandbox, "salesforce", path, tmp_path / "plan.json")

    assert checked.exit_code == 0, checked.stderr
    assert (
        f"{path}:{line_of(path, 'signals.funding: Last_')}:5: warning: "
        "fields.salesforce.signals.funding: Salesforce has no Account field "
        "'Last_Funding_Dte__c' (did you mean 'Last_Funding_Date__c'?); change it to one that "
        'exists: "signals.funding: <field name>"; its dates never make an account warm or hot'
    ) in checked.stderr
    assert planned.exit_code == 0, planned.stderr


# --- fields rows test: the rule's own fields: line, or a default ------------------------------


def test_salesforce_fields_the_org_lacks_are_errors_at_their_fields_lines(
    sandbox: RunningSandbox, rules: RuleEdit, tmp_path: Path
) -> None:
    path = rules(
        (r"country: BillingCountry$", "country: BillingCountryCode"),
        (r"employees: NumberOfEmployees$", "employees: numberofemployees"),
    )

    checked = validate(sandbox, "salesforce", path)
    planned = plan(sandbox, "salesforce", path, tmp_path / "plan.json")

    assert checked.exit_code == 2
    assert (
        f"{path}:{line_of(path, 'country: BillingCountryCode')}:5: fields.salesforce.country: "
        "Salesforce has no Account field 'BillingCountryCode' (did you mean 'BillingCountry'?); "
        'change it to one that exists: "country: <field name>"; every account would miss it in '
        "fit[0] (core-icp) through region"
    ) in checked.stderr
    assert (
        f"{path}:{line_of(path, 'employees: numberofemployees')}:5: fields.salesforce.employees: "
        "Salesforce has no Account field 'numberofemployees' (did you mean 'NumberOfEmployees'?)"
    ) in checked.stderr
    assert "--source salesforce: 2 problem(s) reading the fields the rules use" in checked.stderr
    assert planned.exit_code == 2
    assert not (tmp_path / "plan.json").exists()


def test_a_default_field_hidden_from_the_integration_user_is_an_error_where_rows_test_it(
    sandbox: RunningSandbox, rules: RuleEdit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Field-level security can hide a standard field from the API user: describe omits it."""
    monkeypatch.delitem(sandbox_account_fields(), "Industry")
    path = rules((r"^    industry: Industry\n", ""))

    checked = validate(sandbox, "salesforce", path)

    assert checked.exit_code == 2
    assert (
        f"{path}:{line_of(path, 'industry: {in: [software')}:7: fit[0].when.industry: "
        "Salesforce has no Account field 'Industry', the default; add under fields.salesforce: "
        '"industry: <field name>"; every account would miss it in fit[0] (core-icp)'
    ) in checked.stderr


def test_the_defaults_and_fields_the_sample_names_exist_in_both_crms(
    sandbox: RunningSandbox, sample_org: Path
) -> None:
    hubspot = validate(sandbox, "hubspot", sample_org / "rules.yaml")
    salesforce = validate(sandbox, "salesforce", sample_org / "rules.yaml")

    for checked in (hubspot, salesforce):
        assert checked.exit_code == 0, checked.stderr
        assert "feeds it" not in checked.stderr
        assert "has no" not in checked.stderr
        assert "is empty on every company" not in checked.stderr
    requests_made = control(sandbox, "GET", "/stats")["requests"]
    assert isinstance(requests_made, dict)
    assert requests_made["hubspot.properties.read"] == 1
    assert requests_made["salesforce.describe"] == 1


def test_hubspot_properties_unreadable_is_refused_rather_than_trusted(
    sandbox: RunningSandbox, sample_org: Path
) -> None:
    control(sandbox, "POST", "/scopes/crm.schemas.companies.read/revoke")

    checked = validate(sandbox, "hubspot", sample_org / "rules.yaml")

    assert checked.exit_code == 2
    assert "--source hubspot: cannot read which fields HubSpot has" in checked.stderr
    assert "crm.schemas.companies.read" in checked.stderr


# --- custom fields, and fields present but empty -----------------------------------------------


def test_a_hubspot_custom_field_routes_once_its_property_exists_and_holds_values(
    sandbox: RunningSandbox, rules: RuleEdit, tmp_path: Path
) -> None:
    path = rules(
        (r"^(    parent_id: hs_parent_company_id\n)", r"\1    segment: territory_segment\n"),
        (
            r"^    - id: customers\n",
            (
                "    - id: strategic\n      when: {segment: {eq: strategic}}\n"
                "      assign: {team: sdr-pool}\n    - id: customers\n"
            ),
        ),
    )
    row_line = line_of(path, "segment: territory_segment")

    before = validate(sandbox, "salesforce", path)
    missing = validate(sandbox, "hubspot", path)
    hubspot_api(sandbox, "POST", "/crm/v3/properties/companies", {
        "name": "territory_segment", "label": "Segment", "type": "string",
        "fieldType": "text", "groupName": "companyinformation",
    })  # fmt: skip
    empty = validate(sandbox, "hubspot", path)
    ids = control(sandbox, "GET", "/ids")["companies"]
    assert isinstance(ids, dict)
    company = next(iter(ids.values()))
    hubspot_api(
        sandbox,
        "PATCH",
        f"/crm/v3/objects/companies/{company['hubspot']}",
        {"properties": {"territory_segment": "Strategic"}},
    )
    planned = plan(sandbox, "hubspot", path, tmp_path / "plan.json")

    assert before.exit_code == 2
    assert (
        "routing.rows[0].when.segment: no Salesforce Account field feeds it; add under "
        'fields.salesforce: "segment: <field name>"'
    ) in before.stderr
    assert missing.exit_code == 2
    assert (
        f"{path}:{row_line}:5: fields.hubspot.segment: HubSpot has no company property "
        "'territory_segment'"
    ) in missing.stderr
    assert empty.exit_code == 0, empty.stderr
    assert (
        "warning: routing.rows[0].when.segment: HubSpot company property 'territory_segment' is "
        f"empty on every company ({ACCOUNTS} of {ACCOUNTS}, 100%); every account would miss it "
        "in routing.rows[0] (strategic)"
    ) in empty.stderr
    assert planned.exit_code == 0, planned.stderr
    document = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    routed = {row["account_id"]: row["routing_row"] for row in document["assignments"]}
    assert routed[company["hubspot"]] == "strategic"
    assert list(routed.values()).count("strategic") == 1


def test_a_salesforce_field_empty_on_every_account_is_a_warning_with_the_share(
    sandbox_factory: Callable[..., RunningSandbox], sample_org: Path, tmp_path: Path
) -> None:
    data = tmp_path / "org"
    shutil.copytree(sample_org, data)
    blank_column(data / "companies.csv", "annual_revenue")
    sandbox = sandbox_factory(data=data)
    rules = data / "rules.yaml"

    checked = validate(sandbox, "salesforce", rules)
    strict = validate(sandbox, "salesforce", rules, "--strict")

    assert checked.exit_code == 0, checked.stderr
    assert (
        f"{rules}:{line_of(rules, 'annual_revenue: {weight')}:5: warning: "
        "potential.factors.annual_revenue: Salesforce Account field 'AnnualRevenue' is empty on "
        f"every company ({ACCOUNTS} of {ACCOUNTS}, 100%); every account lacks it"
    ) in checked.stderr
    assert strict.exit_code == 2


def hubspot_api(sandbox: RunningSandbox, method: str, path: str, body: object) -> None:
    reply = requests.request(
        method,
        sandbox.info.hubspot_url + path,
        json=body,
        headers={"Authorization": f"Bearer {sandbox.info.hubspot_token}"},
        timeout=10,
    )
    reply.raise_for_status()


def blank_column(path: Path, column: str) -> None:
    import csv  # noqa: PLC0415

    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    position = rows[0].index(column)
    for row in rows[1:]:
        row[position] = ""
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)


def sandbox_account_fields() -> dict[str, str]:
    """The sandbox's standard Account fields (what describe lists before custom fields)."""
    from sandbox import salesforce_objects  # noqa: PLC0415

    fields: dict[str, str] = salesforce_objects.ACCOUNT_BASE
    return fields
