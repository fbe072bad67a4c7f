"""The sandbox's SOQL subset: what it accepts, how it filters and orders, and how it refuses."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from sandbox.soql import Schema, SoqlError, bind, parse, pinned_values, run

SCHEMA: Schema = {
    "Id": "id",
    "Name": "string",
    "OwnerId": "reference",
    "NumberOfEmployees": "int",
    "IsDeleted": "boolean",
    "LastActivityDate": "date",
    "SystemModstamp": "datetime",
}


def make_row(number: int, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "Id": f"001a0000000{number:04d}AAA",  # lower case in it: ids are case-sensitive
        "Name": f"Company {number}",
        "OwnerId": None,
        "NumberOfEmployees": number * 10,
        "IsDeleted": False,
        "LastActivityDate": None,
        "SystemModstamp": datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    }
    row.update(values)
    return row


def ids(query: str, rows: list[dict[str, object]]) -> list[object]:
    return [r["Id"] for r in run(bind(parse(query), SCHEMA), rows, SCHEMA)]


def test_keywords_and_field_names_are_case_insensitive_and_fields_come_back_canonical() -> None:
    query = bind(parse("select id, name from Account where numberofemployees >= 10"), SCHEMA)
    assert query.fields == ("Id", "Name")
    assert query.sobject == "Account"


def test_datetime_filter_with_id_tie_break_orders_like_an_incremental_sync() -> None:
    early = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    late = datetime(2026, 3, 1, 12, 30, 0, 500_000, tzinfo=UTC)
    rows = [
        make_row(3, SystemModstamp=late),
        make_row(2, SystemModstamp=early),
        make_row(1, SystemModstamp=late),
    ]
    query = (
        "SELECT Id FROM Account WHERE SystemModstamp >= 2026-01-05T09:00:00Z "
        "ORDER BY SystemModstamp, Id"
    )
    assert ids(query, rows) == [rows[1]["Id"], rows[2]["Id"], rows[0]["Id"]]
    later = "SELECT Id FROM Account WHERE SystemModstamp > 2026-03-01T12:30:00.000+0000"
    assert ids(later, rows) == [rows[0]["Id"], rows[2]["Id"]]


def test_and_binds_tighter_than_or_and_parentheses_override_it() -> None:
    rows = [make_row(1), make_row(2, IsDeleted=True), make_row(3)]
    loose = (
        "SELECT Id FROM Account "
        "WHERE NumberOfEmployees = 10 OR NumberOfEmployees = 20 AND IsDeleted = false"
    )
    assert ids(loose, rows) == [rows[0]["Id"]]
    grouped = (
        "SELECT Id FROM Account "
        "WHERE (NumberOfEmployees = 10 OR NumberOfEmployees = 20) AND IsDeleted = true"
    )
    assert ids(grouped, rows) == [rows[1]["Id"]]
    assert ids("SELECT Id FROM Account WHERE NOT IsDeleted = true", rows) == [
        rows[0]["Id"],
        rows[2]["Id"],
    ]


def test_ids_compare_exactly_but_text_ignores_case() -> None:
    rows = [make_row(1, Name="Acme GmbH")]
    upper_id = str(rows[0]["Id"]).upper()
    assert ids(f"SELECT Id FROM Account WHERE Id = '{upper_id}'", rows) == []
    assert ids(f"SELECT Id FROM Account WHERE Id IN ('{rows[0]['Id']}')", rows) == [rows[0]["Id"]]
    assert ids("SELECT Id FROM Account WHERE Name = 'ACME gmbh'", rows) == [rows[0]["Id"]]


def test_null_comparisons_and_not_equal_matching_empty_fields() -> None:
    rows = [make_row(1, OwnerId="005000000000001AAA"), make_row(2)]
    assert ids("SELECT Id FROM Account WHERE OwnerId = NULL", rows) == [rows[1]["Id"]]
    assert ids("SELECT Id FROM Account WHERE OwnerId != null", rows) == [rows[0]["Id"]]
    not_equal = "SELECT Id FROM Account WHERE OwnerId != '005000000000001AAA'"
    assert ids(not_equal, rows) == [rows[1]["Id"]]
    assert ids("SELECT Id FROM Account WHERE OwnerId NOT IN ('x')", rows) == [
        rows[0]["Id"],
        rows[1]["Id"],
    ]


def test_ascending_puts_nulls_first_descending_last_unless_told() -> None:
    rows = [
        make_row(1, LastActivityDate=date(2026, 5, 1)),
        make_row(2),
        make_row(3, LastActivityDate=date(2026, 6, 1)),
    ]
    first, second, third = (r["Id"] for r in rows)
    assert ids("SELECT Id FROM Account ORDER BY LastActivityDate", rows) == [second, first, third]
    assert ids("SELECT Id FROM Account ORDER BY LastActivityDate DESC", rows) == [
        third,
        first,
        second,
    ]
    assert ids("SELECT Id FROM Account ORDER BY LastActivityDate ASC NULLS LAST LIMIT 2", rows) == [
        first,
        third,
    ]


def test_string_literals_unescape_quotes_and_backslashes() -> None:
    rows = [make_row(1, Name="O'Brien \\ Sons")]
    assert ids(r"SELECT Id FROM Account WHERE Name = 'O\'Brien \\ Sons'", rows) == [rows[0]["Id"]]


def test_pinned_values_name_the_ids_a_top_level_filter_allows() -> None:
    where = parse("SELECT Id FROM Account WHERE IsDeleted = false AND Id IN ('a', 'b')").where
    assert pinned_values(where, "Id") == ["a", "b"]
    either = parse("SELECT Id FROM Account WHERE Id = 'a' OR Name = 'x'").where
    assert pinned_values(either, "Id") is None


@pytest.mark.parametrize(
    ("query", "code", "words"),
    [
        (
            "SELECT Id FROM Account GROUP BY Id",
            "MALFORMED_QUERY",
            "GROUP is not in the sandbox's SOQL subset",
        ),
        ("SELECT COUNT() FROM Account", "MALFORMED_QUERY", "COUNT is not in"),
        ("SELECT Id FROM Account WHERE Name LIKE 'A%'", "MALFORMED_QUERY", "LIKE is not in"),
        (
            "SELECT Id FROM Account WHERE Name ~ 'x'",
            "MALFORMED_QUERY",
            "unexpected token: '~' at column 35",
        ),
        ("SELECT FROM Account", "MALFORMED_QUERY", "expected a field name at column 8"),
        ("SELECT Id FROM Account LIMIT ten", "MALFORMED_QUERY", "LIMIT takes a whole number"),
        (
            "SELECT Id FROM Account WHERE LastActivityDate = 2026-02-31",
            "MALFORMED_QUERY",
            "invalid literal",
        ),
        (
            "SELECT Id FROM Account ORDER BY Id NULLS MIDDLE",
            "MALFORMED_QUERY",
            "expected FIRST or LAST",
        ),
        ("SELECT Id, Owner.Email FROM Account", "INVALID_FIELD", "relationship"),
        ("SELECT Id, Revenue FROM Account", "INVALID_FIELD", "No such column 'Revenue'"),
        ("SELECT Id, id FROM Account", "MALFORMED_QUERY", "duplicate field selected: Id"),
        (
            "SELECT Id FROM Account WHERE SystemModstamp > '2026-01-05'",
            "INVALID_FIELD",
            "should not be enclosed in quotes",
        ),
        ("SELECT Id FROM Account WHERE NumberOfEmployees > NULL", "INVALID_FIELD", "NULL can only"),
        ("SELECT Id FROM Account WHERE IsDeleted = 1", "INVALID_FIELD", "must be of type boolean"),
    ],
)
def test_queries_outside_the_subset_are_refused_with_salesforces_codes(
    query: str, code: str, words: str
) -> None:
    with pytest.raises(SoqlError) as refused:
        bind(parse(query), SCHEMA)
    assert refused.value.code == code
    assert words in refused.value.message
