"""Which rule fields a source cannot read, judged before planning (rules/readable_fields.py).

The rule is the shipped example; the source is described the way connectors describe it:
which source field feeds each rule field, and which of those the source lacks.
"""

from __future__ import annotations

import pytest

from connectors.records import AccountBuilder
from rules.domain import Account
from rules.loader import LoadedRules
from rules.readable_fields import (
    Locate,
    SourceFields,
    SourceKind,
    check_empty_fields,
    check_readable,
    missing_from,
)
from tests.unit.rule_text import edited, example_text, load

SIGNALS = ("funding", "hiring", "leadership_change", "tech_adoption", "rfp", "product_usage")
CSV_COLUMNS = {
    name: name
    for name in (
        "name",
        "domain",
        "industry",
        "employees",
        "annual_revenue",
        "country",
        "lifecycle",
    )
} | {f"signals.{signal}": f"signal_{signal}" for signal in SIGNALS}
NO_SIGNALS = tuple(f"signals.{signal}" for signal in SIGNALS)
CATCH_ALL = "    - id: catch-all\n"


def with_row(when: str, text: str | None = None) -> str:
    """The example with a routing row testing `when` just before the catch-all row."""
    probe = f"    - id: probe\n      when: {when}\n      assign: {{team: sdr-pool}}\n"
    return edited(CATCH_ALL, probe + CATCH_ALL, text)


def with_segment(text: str | None = None) -> str:
    """The example with a custom field `segment` that HubSpot reads from `hs_segment`."""
    return edited(
        "    signals.hiring: last_hiring_signal_date\n",
        "    signals.hiring: last_hiring_signal_date\n    segment: hs_segment\n",
        text,
    )


def csv_source(drop: tuple[str, ...] = (), **extra: str) -> SourceFields:
    feeds = {k: v for k, v in CSV_COLUMNS.items() if k not in drop} | extra
    return SourceFields("csv", feeds)


def crm_source(kind: SourceKind, loaded: LoadedRules, *missing: str) -> SourceFields:
    """What a CRM connector reports for `loaded`: its feeds, and `missing` among them."""
    feeds = AccountBuilder(kind, loaded.rule).feeds()  # type: ignore[arg-type]
    return SourceFields(kind, feeds, missing_from(set(feeds.values()) - set(missing), missing))


def issues(text: str, source: SourceFields) -> list[str]:
    loaded = load(text)
    return [str(i) for i in check_readable(loaded.rule, source, key_locator(loaded))]


def key_locator(loaded: LoadedRules) -> Locate:
    """Locate keys, as `territory validate` does: `when: {industry: ...}` at `industry`."""
    return lambda path: loaded.document.locate(path, key=True)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    at = -1
    for _ in range(occurrence):
        at = text.index(needle, at + 1)
    return text[:at].count("\n") + 1


# --- fields a row tests: an error, located at the first row that tests them -------------------


@pytest.mark.parametrize(
    ("field", "tested"),
    [
        ("industry", "industry"),
        ("employees", "employees"),
        ("annual_revenue", "annual_revenue"),
        ("lifecycle", "lifecycle"),
        ("country", "country"),
        ("country", "region"),
    ],
)
def test_a_field_a_routing_row_tests_is_an_error_when_no_column_feeds_it(
    field: str, tested: str
) -> None:
    text = with_row(f"{{{tested}: {{exists: true}}}}")

    found = issues(text, csv_source(drop=(field,)))

    errors = [i for i in found if ": warning: " not in i]
    assert len(errors) == 1, found
    assert f"add a column '{field}', or add under fields.csv: \"{field}: <column>\"" in errors[0]
    assert "every account would miss it in" in errors[0]
    assert "routing.rows[5] (probe)" in errors[0]


def test_a_custom_field_a_row_tests_needs_a_fields_line_for_each_source() -> None:
    text = with_row("{segment: {eq: strategic}}", with_segment())
    loaded = load(text)
    row_line = line_of(text, "segment: {eq: strategic}")

    from_csv = issues(text, csv_source())
    from_salesforce = issues(text, crm_source("salesforce", loaded))
    from_hubspot = issues(text, crm_source("hubspot", loaded))

    assert from_csv == [
        (
            f"rules.yaml:{row_line}:14: routing.rows[5].when.segment: no companies.csv column "
            'feeds it; add under fields.csv: "segment: <column>"; every account would miss it '
            "in routing.rows[5] (probe)"
        )
    ]
    segment = [i for i in from_salesforce if "segment" in i]
    assert segment[0].startswith(f"rules.yaml:{row_line}:14: routing.rows[5].when.segment: no ")
    assert 'add under fields.salesforce: "segment: <field name>"' in segment[0]
    assert not any("segment" in i for i in from_hubspot)


def test_a_fit_row_field_is_an_error_at_the_fit_row() -> None:
    text = example_text()

    found = issues(text, csv_source(drop=("employees",)))

    assert found[0].startswith(
        f"rules.yaml:{line_of(text, 'employees: {between: [200, 5000]}')}:7: "
        "fit[0].when.employees: no companies.csv column feeds it"
    )
    assert ": warning: " not in found[0]


# --- fields nothing tests: warnings ----------------------------------------------------------


def test_a_field_only_a_potential_factor_reads_is_a_warning() -> None:
    text = example_text()

    found = issues(text, csv_source(drop=("annual_revenue",)))

    assert found == [
        (
            f"rules.yaml:{line_of(text, 'annual_revenue: {weight')}:5: warning: "
            "potential.factors.annual_revenue: no companies.csv column feeds it; add a column "
            "'annual_revenue', or add under fields.csv: \"annual_revenue: <column>\"; every "
            "account lacks it"
        )
    ]


def test_a_named_account_domain_no_column_feeds_is_a_warning() -> None:
    found = issues(example_text(), csv_source(drop=("domain",)))

    assert len(found) == 1
    assert ": warning: named_accounts[0].account.domain: no companies.csv column" in found[0]


# --- signals ---------------------------------------------------------------------------------


def test_each_signal_no_property_feeds_is_a_warning_naming_the_line_to_add() -> None:
    text = example_text()
    loaded = load(text)
    signals_line = line_of(text, "signals: [funding")

    found = issues(text, crm_source("hubspot", loaded))

    assert found == [
        f"rules.yaml:{signals_line}:{column}: warning: intent.signals[{i}]: signal '{signal}': "
        f'no HubSpot company property feeds it; add under fields.hubspot: "signals.{signal}: '
        '<property name>"; its dates never make an account warm or hot'
        for i, (signal, column) in enumerate(
            [("leadership_change", 30), ("tech_adoption", 49), ("rfp", 64), ("product_usage", 69)],
            start=2,
        )
    ]


def test_no_readable_signal_is_an_error_when_intent_is_used() -> None:
    text = example_text()

    found = issues(text, csv_source(drop=NO_SIGNALS))

    errors = [i for i in found if ": warning: " not in i]
    assert errors == [
        (
            f"rules.yaml:{line_of(text, 'signals: [funding')}:3: intent.signals: no companies.csv "
            "column feeds any of the 6 signal(s), so every account would be cold where intent is "
            "used (routing.rows[2] (cold-watchlist) tests it; potential.factors.intent scores it); "
            "map at least one signal (the warnings name the lines to add)"
        )
    ]
    assert sum(": warning: intent.signals[" in i for i in found) == 6


def test_no_readable_signal_is_only_warnings_when_nothing_uses_intent() -> None:
    text = edited("      when: {intent: {eq: cold}}\n", "      when: {fit: {eq: C}}\n")
    text = edited("    intent: {weight: 2, values: {hot: 1.0, warm: 0.5, cold: 0.0}}\n", "", text)

    found = issues(text, csv_source(drop=NO_SIGNALS))

    assert len(found) == 6
    assert all(": warning: intent.signals[" in i for i in found)


# --- fields the CRM lacks: the default, or the rule's own fields: line ------------------------


def test_a_default_the_crm_lacks_is_an_error_where_a_row_tests_it() -> None:
    text = example_text()
    loaded = load(text)

    found = issues(text, crm_source("hubspot", loaded, "lifecyclestage"))

    lifecycle = [i for i in found if "lifecycle" in i]
    assert lifecycle == [
        (
            f"rules.yaml:{line_of(text, 'lifecycle: lifecyclestage')}:5: fields.hubspot.lifecycle: "
            "HubSpot has no company property 'lifecyclestage'; change it to one that exists: "
            '"lifecycle: <property name>"; every account would miss it in routing.rows[0] '
            "(customers)"
        )
    ]
    without_line = edited("    lifecycle: lifecyclestage\n", "")
    found = issues(without_line, crm_source("hubspot", load(without_line), "lifecyclestage"))
    lifecycle = [i for i in found if "lifecycle" in i]
    assert lifecycle == [
        (
            f"rules.yaml:{line_of(without_line, 'lifecycle: {eq: customer}')}:14: "
            "routing.rows[0].when.lifecycle: HubSpot has no company property 'lifecyclestage', the "
            'default; add under fields.hubspot: "lifecycle: <property name>"; every account would '
            "miss it in routing.rows[0] (customers)"
        )
    ]


def test_a_field_the_crm_spells_otherwise_names_the_field_it_has() -> None:
    text = example_text()
    loaded = load(text)
    source = crm_source("salesforce", loaded, "BillingCountryCode")
    source = SourceFields(
        "salesforce", source.feeds, missing_from(["BillingCountry"], ["BillingCountryCode"])
    )

    found = issues(text, source)

    assert found[0].startswith(
        f"rules.yaml:{line_of(text, 'country: BillingCountryCode')}:5: "
        "fields.salesforce.country: Salesforce has no Account field 'BillingCountryCode' (did "
        "you mean 'BillingCountry'?); change it to one that exists: \"country: <field name>\"; "
        "every account would miss it in fit[0] through region, fit[1] through region, "
        "routing.rows[3] (na-enterprise) through region, routing.rows[4] (emea) through region"
    )


def test_missing_from_suggests_the_same_name_in_other_case_then_the_closest() -> None:
    catalogue = ["Industry", "NumberOfEmployees", "BillingCountry", "Last_Funding_Date__c"]

    missing = missing_from(
        catalogue,
        ["Industry", "numberofemployees", "BillingCountryCode", "Last_Fundng_Date__c", "zzz"],
    )

    assert missing == {
        "numberofemployees": "NumberOfEmployees",
        "BillingCountryCode": "BillingCountry",
        "Last_Fundng_Date__c": "Last_Funding_Date__c",
        "zzz": None,
    }


# --- readable but empty on every account -----------------------------------------------------


def test_a_readable_field_empty_on_every_account_is_a_warning_with_the_share() -> None:
    text = example_text()
    loaded = load(text)
    accounts = [Account(id=f"c{i}", industry="software", employees=300) for i in range(3)]

    found = check_empty_fields(loaded.rule, csv_source(), accounts, key_locator(loaded))

    revenue = next(str(i) for i in found if i.path == "potential.factors.annual_revenue")
    assert revenue == (
        f"rules.yaml:{line_of(text, 'annual_revenue: {weight')}:5: warning: "
        "potential.factors.annual_revenue: companies.csv column 'annual_revenue' is empty on "
        "every company (3 of 3, 100%); every account lacks it"
    )
    assert [i.path for i in found] == [
        "fit[0].when.region",  # country, which holds no country ISO 3166 knows either
        *(f"intent.signals[{i}]" for i in range(6)),
        "potential.factors.annual_revenue",
        "named_accounts[0].account.domain",
        "routing.rows[0].when.lifecycle",
    ]


def test_a_field_one_account_holds_is_not_empty() -> None:
    loaded = load(example_text())
    accounts = [Account(id="c1"), Account(id="c2", annual_revenue=1e6)]

    found = check_empty_fields(loaded.rule, csv_source(), accounts, loaded.locate)

    assert not any("annual_revenue" in str(i) for i in found)


def test_an_unreadable_field_is_not_also_reported_empty() -> None:
    loaded = load(example_text())

    found = check_empty_fields(
        loaded.rule, csv_source(drop=("annual_revenue",)), [Account(id="c1")], loaded.locate
    )

    assert not any("annual_revenue" in str(i) for i in found)


# --- what the CRM connectors read ------------------------------------------------------------


def test_crm_builder_reads_custom_fields_through_values() -> None:
    text = with_row("{segment: {eq: strategic}}", with_segment())
    text = edited("values:\n", "values:\n  segment:\n    hubspot: {STRAT: strategic}\n", text)
    builder = AccountBuilder("hubspot", load(text).rule)

    account = builder.build("1", {"hs_segment": "STRAT"}, None)
    plain = builder.build("2", {"hs_segment": " Growth "}, None)
    empty = builder.build("3", {"hs_segment": ""}, None)

    assert "hs_segment" in builder.properties()
    assert account.extra == {"segment": "strategic"}
    assert plain.extra == {"segment": "growth"}
    assert empty.extra is None


def test_crm_builder_never_requests_a_field_the_crm_lacks() -> None:
    builder = AccountBuilder("salesforce", load(example_text()).rule)
    assert "BillingCountryCode" in builder.properties()

    builder.skip(["BillingCountryCode"])

    assert "BillingCountryCode" not in builder.properties()
