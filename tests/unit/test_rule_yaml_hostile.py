"""Hostile rule files: each is a located RuleError or a sane value, in bounded time and memory."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import yaml_limits
from rules.errors import RuleError
from rules.loader import load_rules
from rules.yaml_limits import MAX_DEPTH
from rules.yaml_source import MAX_CHARS, YamlDocument, parse_yaml
from tests.unit.rule_text import FILE, issues_of, load, minimal

_TOO_DEEP = (
    f"expected at most {MAX_DEPTH} levels of lists and mappings inside each other, found more here"
)
_TOO_MANY = (
    "expected at most 100,000 keys and values in a rule file, each alias counting as every "
    "value it repeats"
)
_MERGE = "expected a mapping (or a list of mappings) to merge with <<"


def billion_laughs() -> str:
    """Nine levels of nine aliases each: 9**9 values (387 million) from 400 bytes."""
    lines = ["version: 1", "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join(lines) + "\n"


def parsed(text: str) -> YamlDocument:
    """The YAML layer alone: values and positions, before the schema judges them."""
    return parse_yaml(text, FILE)


def yaml_issues(text: str) -> list[str]:
    """Every issue the YAML layer reports for `text`, as printed."""
    with pytest.raises(RuleError) as caught:
        parsed(text)
    return [str(issue) for issue in caught.value.issues]


def bounded_issues(text: str, *, seconds: float = 1.0, megabytes: float = 20) -> list[str]:
    """The YAML layer's issues for `text`, failing unless found in `seconds` within `megabytes`.

    Timed on its own first, in CPU seconds so a busy machine does not fail it: tracing
    allocations slows Python several times over.
    """
    started = time.process_time()
    issues = yaml_issues(text)
    elapsed = time.process_time() - started
    tracemalloc.start()
    try:
        yaml_issues(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.2f}s"
    assert peak < megabytes * 1e6, f"allocated {peak / 1e6:.0f} MB at peak"
    return issues


# Nesting `depth` lists or mappings inside each other under `x:` (the root mapping is one more).
def flow_lists(depth: int) -> str:
    return "version: 1\nx: " + "[" * depth + "1" + "]" * depth + "\n"


def flow_mappings(depth: int) -> str:
    return "version: 1\nx: " + "{a: " * depth + "1" + "}" * depth + "\n"


def block_mappings(depth: int) -> str:
    lines = [" " * level + "a:" for level in range(depth)]
    return "\n".join(["version: 1", *lines, " " * depth + "a: 1"]) + "\n"


def block_lists(depth: int) -> str:
    lines = ["  " * level + "-" for level in range(depth - 1)]
    return "\n".join(["version: 1", "x:", *lines, "  " * (depth - 1) + "- 1"]) + "\n"


_NESTED: dict[str, Callable[[int], str]] = {
    "flow-lists": flow_lists,
    "flow-mappings": flow_mappings,
    "block-mappings": block_mappings,
    "block-lists": block_lists,
}


# --- alias expansion --------------------------------------------------------------------------


def test_billion_laughs_is_refused_at_the_alias_crossing_the_limit_fast_and_small() -> None:
    text = billion_laughs()
    assert len(text) < 450

    issues = bounded_issues(text, megabytes=10)

    # Line 7 is `f: &f [*e, ...]`: its first alias repeats 66,430 values.
    assert issues == [
        f"rules.yaml:7:8: {_TOO_MANY}; *e repeats 66,430, bringing the file to 141,172"
    ]


def test_one_anchor_repeated_by_many_aliases_counts_every_repeat() -> None:
    thousand = ", ".join(["x"] * 1000)
    text = f"version: 1\na: &a [{thousand}]\nb: [{', '.join(['*a'] * 101)}]\n"

    issues = bounded_issues(text)

    assert issues == [
        f"rules.yaml:3:397: {_TOO_MANY}; *a repeats 1,001, bringing the file to 100,106"
    ]


def test_aliases_within_the_limit_are_expanded() -> None:
    doc = parsed("version: 1\na: &a [x, y]\nb: [*a, *a]\n")

    assert doc.data["b"] == [["x", "y"], ["x", "y"]]


def test_plain_values_past_the_limit_are_refused_at_the_first_one_too_many(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The real limit needs a file of 100,000 values (seconds to read); a small one is the same
    # count. Root mapping, version, 1, x and the list are five; 5 is the tenth value.
    monkeypatch.setattr(yaml_limits, "MAX_VALUES", 9)

    assert yaml_issues("version: 1\nx: [1, 2, 3, 4, 5, 6]\n") == [
        (
            "rules.yaml:2:17: expected at most 9 keys and values in a rule file, each alias "
            "counting as every value it repeats; this is one more"
        )
    ]


# --- recursive aliases ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nname: &a [*a]\n", "rules.yaml:2:11: {} (line 2, column 7), {}"),
        ("version: 1\na: &a {<<: *a}\n", "rules.yaml:2:12: {} (line 2, column 4), {}"),
        ("version: 1\na: &a {b: [*a]}\n", "rules.yaml:2:12: {} (line 2, column 4), {}"),
        ("version: 1\na: &a\n  b:\n    - c: *a\n", "rules.yaml:4:10: {} (line 2, column 4), {}"),
        ("version: 1\na: &a {<<: [{x: 1}, *a]}\n", "rules.yaml:2:21: {} (line 2, column 4), {}"),
    ],
    ids=["list-holds-itself", "self-merge", "mapping", "block-mapping", "merge-list"],
)
def test_alias_inside_its_own_anchor_is_a_located_error(text: str, expected: str) -> None:
    assert yaml_issues(text) == [
        expected.format(
            "expected an alias to a finished value, but *a is inside the value anchored as &a",
            "which would then contain itself",
        )
    ]


def test_anchor_defined_again_means_its_latest_definition_as_yaml_says() -> None:
    doc = parsed("version: 1\na: &x [1]\nb: &x [2]\nc: *x\n")

    assert doc.data["c"] == [2]


# --- nesting depth ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "depth"),
    [
        *[(shape, 500) for shape in sorted(_NESTED)],
        # Block nesting grows as the square of its depth; 1,500 levels is a megabyte.
        ("block-mappings", 1_500),
        ("block-lists", 1_000),
        ("flow-lists", 300_000),
        ("flow-mappings", 300_000),
    ],
)
def test_deep_nesting_is_a_located_error_at_the_first_level_too_deep(
    shape: str, depth: int
) -> None:
    issues = bounded_issues(_NESTED[shape](depth))

    assert len(issues) == 1
    assert issues[0].startswith("rules.yaml:")
    assert issues[0].endswith(_TOO_DEEP)


@pytest.mark.parametrize("shape", sorted(_NESTED))
def test_nesting_up_to_the_limit_is_read_and_one_more_is_not(shape: str) -> None:
    parsed(_NESTED[shape](MAX_DEPTH - 2))

    assert yaml_issues(_NESTED[shape](MAX_DEPTH - 1))[0].endswith(_TOO_DEEP)


def test_aliases_that_stack_past_the_depth_limit_are_refused_at_the_alias() -> None:
    lines = ["version: 1", "a0: &a0 " + "[" * 20 + "1" + "]" * 20]
    lines += [f"a{i}: &a{i} " + "[" * 20 + f"*a{i - 1}" + "]" * 20 for i in range(1, 10)]

    assert yaml_issues("\n".join(lines) + "\n") == [
        (
            f"rules.yaml:5:29: expected at most {MAX_DEPTH} levels of lists and mappings inside "
            "each other, but *a2 here, expanded, reaches 82"
        )
    ]


def test_a_long_chain_of_merges_is_a_located_error() -> None:
    lines = ["version: 1", "m0: &m0 {x: 1}"]
    lines += [f"m{i}: &m{i} {{<<: *m{i - 1}}}" for i in range(1, 2000)]

    assert yaml_issues("\n".join(lines) + "\n") == [
        (
            f"rules.yaml:64:16: expected at most {MAX_DEPTH} levels of lists and mappings inside "
            "each other, but *m61 here, expanded, reaches 65"
        )
    ]


# --- merge keys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("merged", "got"),
    [
        ("5", "5"),
        ("text", "text"),
        ('"quoted"', '"quoted"'),
        ("~", "~"),
        ("", "an empty value"),
        ("[{b: 1}, 5]", "5"),
        ("[[{b: 1}]]", "a list"),
        ("*five", "5"),
        ("*list", "5"),
    ],
    ids=[
        "number",
        "text",
        "quoted",
        "null",
        "empty",
        "list-with-a-number",
        "list-in-a-list",
        "alias-to-a-number",
        "alias-to-a-list-of-numbers",
    ],
)
def test_merge_of_anything_but_mappings_is_a_located_error(merged: str, got: str) -> None:
    text = f"version: 1\nfive: &five 5\nlist: &list [5]\na:\n  <<: {merged}\n  b: 2\n"

    assert yaml_issues(text) == [f"rules.yaml:5:3: a.<<: {_MERGE}, got {got}"]


def test_merge_of_a_number_in_a_rule_file_is_an_error_not_ignored() -> None:
    text = minimal("balance:\n  <<: 5\n  tolerance: 0.2\n")

    assert issues_of(text) == [f"rules.yaml:12:3: balance.<<: {_MERGE}, got 5"]


def test_the_earlier_of_two_merged_mappings_wins_as_yaml_says() -> None:
    doc = parsed("version: 1\na: &a {x: 1}\nb: &b {x: 2, y: 2}\nc: {<<: [*a, *b], y: 3}\n")

    assert doc.data["c"] == {"x": 1, "y": 3}


def test_a_second_merge_key_is_a_duplicate_key() -> None:
    assert yaml_issues("version: 1\na: {<<: {x: 1}, <<: {y: 2}}\n") == [
        (
            "rules.yaml:2:17: a.<<: duplicate key '<<' (first defined at line 2, column 5); a "
            "second definition would silently replace the first"
        )
    ]


def test_a_merged_mapping_with_a_list_key_is_located() -> None:
    assert yaml_issues("version: 1\na: &a {? [k] : 1}\nb: {<<: *a}\n") == [
        "rules.yaml:2:10: a: a key must be a plain value",
        "rules.yaml:2:10: b: a key must be a plain value",
    ]


# --- tags and directives ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!!python/object:os.system {x: 1}", "!!python/object:os.system on a mapping"),
        ('!!python/object/apply:os.system ["ls"]', "!!python/object/apply:os.system on a list"),
        ("!!python/name:os.system ''", "!!python/name:os.system on a value"),
        ("!custom 5", "!custom on a value"),
        ("!<tag:example.com,2000:x> 5", "tag:example.com,2000:x on a value"),
        ("!!binary aGk=", "!!binary on a value"),
        ("!!timestamp 2027-01-01", "!!timestamp on a value"),
        ("!!set {x}", "!!set on a mapping"),
        ("!!omap [x: 1]", "!!omap on a list"),
        ("!!str [x]", "!!str on a list"),
        ("!!map [x]", "!!map on a list"),
        ("!!seq {x: 1}", "!!seq on a mapping"),
    ],
)
def test_a_tag_outside_plain_yaml_is_a_located_error(value: str, shown: str) -> None:
    assert yaml_issues(f"version: 1\na: {value}\n") == [
        (
            f"rules.yaml:2:4: expected plain YAML, got the tag {shown}; rule files hold text, "
            "numbers, true/false, lists and mappings only (remove the tag)"
        )
    ]


def test_a_tag_shorthand_declared_by_a_directive_is_judged_by_what_it_expands_to() -> None:
    text = "%TAG ! tag:yaml.org,2002:python/\n---\nversion: 1\na: !object 1\n"

    assert yaml_issues(text) == [
        (
            "rules.yaml:4:4: expected plain YAML, got the tag !!python/object on a value; rule "
            "files hold text, numbers, true/false, lists and mappings only (remove the tag)"
        )
    ]


def test_core_tags_give_the_value_they_name_quoted_or_not() -> None:
    doc = parsed(
        'version: 1\na: !!str 5\nb: !!int "5"\nc: !!float 1\nd: !!bool "true"\ne: !!null ""\n'
        "f: !!seq [1]\ng: !!map {x: 1}\n"
    )

    assert doc.data == {
        "version": 1,
        "a": "5",
        "b": 5,
        "c": 1.0,
        "d": True,
        "e": None,
        "f": [1],
        "g": {"x": 1},
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("!!bool maybe", "true or false after the tag !!bool, got maybe"),
        ("!!bool yes", "true or false after the tag !!bool, got yes"),
        ("!!int abc", "a whole number after the tag !!int, got abc"),
        ("!!int 1.5", "a whole number after the tag !!int, got 1.5"),
        ("!!float one", "a number after the tag !!float, got one"),
        ("!!null x", "an empty value, ~ or null after the tag !!null, got x"),
    ],
)
def test_a_core_tag_on_a_value_it_cannot_read_is_a_located_error(value: str, expected: str) -> None:
    assert yaml_issues(f"version: 1\na: {value}\n") == [f"rules.yaml:2:4: a: expected {expected}"]


@pytest.mark.parametrize(
    ("directive", "expected"),
    [
        ("%YAML 1.1", "got %YAML 1.1; remove the directive (YAML 1.1 would read NO as false)"),
        ("%YAML 1.3", "got %YAML 1.3; remove the directive"),
    ],
)
def test_a_yaml_version_directive_other_than_1_2_is_a_located_error(
    directive: str, expected: str
) -> None:
    assert yaml_issues(f"{directive}\n---\nversion: 1\nregion: NO\n") == [
        f"rules.yaml:1:1: expected YAML 1.2 (how rule files are read), {expected}"
    ]


def test_a_yaml_1_2_directive_is_read() -> None:
    assert parsed("%YAML 1.2\n---\nversion: 1\nregion: NO\n").data["region"] == "NO"


def test_a_version_directive_on_a_second_document_is_located_too() -> None:
    assert yaml_issues("version: 1\n...\n%YAML 1.3\n---\nb: 2\n") == [
        (
            "rules.yaml:3:1: expected YAML 1.2 (how rule files are read), got %YAML 1.3; remove "
            "the directive"
        )
    ]


# --- anchors on keys --------------------------------------------------------------------------


def test_an_alias_used_as_a_key_is_located_where_it_is_written() -> None:
    assert yaml_issues("version: 1\n&k a: 1\n*k : 2\n") == [
        (
            "rules.yaml:3:1: a: duplicate key 'a' (first defined at line 2, column 1); a second "
            "definition would silently replace the first"
        )
    ]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("version: 1\n? &m {a: 1}\n: 1\n", "2:3"),
        ("version: 1\nb: &m {a: 1}\n*m : 1\n", "2:4"),
        ("version: 1\nb: &m [a]\n? *m\n: 1\n", "2:4"),
    ],
    ids=["anchored-mapping-key", "alias-to-a-mapping-as-key", "alias-to-a-list-as-key"],
)
def test_a_key_that_is_a_collection_through_an_anchor_is_a_located_error(
    text: str, where: str
) -> None:
    assert yaml_issues(text) == [f"rules.yaml:{where}: a key must be a plain value"]


def test_an_anchored_key_reads_as_its_text() -> None:
    doc = parsed("version: 1\n&k name: x\nother: *k\n")

    assert doc.data == {"version": 1, "name": "x", "other": "name"}


# --- size and characters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\nname: " + "x" * 50_000_000 + "\n",
        "version: 1\n" + "".join(f"k{i}: {i}\n" for i in range(1_000_000)),
    ],
    ids=["50-MB-string", "a-million-keys"],
)
def test_a_file_past_the_size_limit_is_refused_before_it_is_read(text: str) -> None:
    issues = bounded_issues(text, megabytes=10)

    assert len(issues) == 1
    assert issues[0].endswith(
        f"expected a rule file of at most 2,000,000 characters, got {len(text):,}; this is the "
        "first one past the limit"
    )


def test_the_size_limit_is_located_at_the_first_character_past_it() -> None:
    text = "version: 1\n" + "# a comment line\n" * (MAX_CHARS // 17 + 1)
    line = (MAX_CHARS - len("version: 1\n")) // 17 + 2
    column = (MAX_CHARS - len("version: 1\n")) % 17 + 1

    assert yaml_issues(text)[0].startswith(f"rules.yaml:{line}:{column}: ")


def test_a_long_string_under_the_size_limit_is_read() -> None:
    assert parsed("version: 1\nname: " + "x" * 200_000 + "\n").data["name"] == "x" * 200_000


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\ufffe", "\ud800"])
def test_a_character_yaml_cannot_hold_is_located(char: str) -> None:
    assert yaml_issues(f"version: 1\nname: a{char}\n") == [
        (
            f"rules.yaml:2:8: unreadable character #x{ord(char):04x}: special characters are not "
            "allowed"
        )
    ]


def test_a_byte_order_mark_is_read_past() -> None:
    assert parsed("\ufeffversion: 1\nname: x\n").data == {"version": 1, "name": "x"}


# --- whatever the text: a RuleError or a rule file --------------------------------------------

_YAMLISH = [
    *("\n", " ", "  ", "\t", "\r", "\x85", "\u2028", "\ufeff", "\x00", "é", "#", "\\"),
    *("- ", ": ", ":", ",", "? ", "[", "]", "{", "}", "'", '"', "|", ">", "`", "@", "%", "="),
    *("&a ", "&b ", "*a", "*b", "<<: ", "!", "&", "*", "!!int ", "!!str ", "!x ", "!!map "),
    *("%YAML 1.1\n", "%YAML 1.2\n", "%TAG ! tag:x/\n", "---\n", "...\n"),
    *("version", "1", "0x1F", "1.10", "~", "true", "NO", "teams", "routing", "rows", "id"),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.lists(st.sampled_from(_YAMLISH), max_size=80).map("".join))
def test_any_yamlish_text_loads_or_raises_a_located_rule_error_quickly(text: str) -> None:
    started = time.process_time()
    try:
        load_rules(text, FILE)
    except RuleError as exc:
        assert exc.issues  # noqa: PT017 - every RuleError carries located issues
        for issue in exc.issues:
            assert (issue.location.line, issue.location.column) >= (1, 1)
            assert issue.message
    assert time.process_time() - started < 1.0


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=300))
def test_any_text_loads_or_raises_a_rule_error(text: str) -> None:
    try:
        load_rules(text, FILE)
    except RuleError as exc:
        assert exc.issues  # noqa: PT017 - every RuleError carries located issues


_FLOW_VALUES = st.recursive(
    st.sampled_from(["1", "x", "~", '"q"', "", "!!int 5", "!!str 5", "!!bool no", "*a", "*b"]),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(st.tuples(st.sampled_from(["k", "j", "<<", "? [k]"]), inner), max_size=4).map(
            lambda pairs: "{" + ", ".join(f"{key}: {value}" for key, value in pairs) + "}"
        ),
        st.tuples(st.sampled_from(["&a ", "&b "]), inner).map("".join),
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(_FLOW_VALUES, min_size=1, max_size=6))
def test_any_web_of_anchors_aliases_and_merges_reads_or_raises_a_located_rule_error(
    values: list[str],
) -> None:
    text = "version: 1\n" + "".join(f"x{i}: {value}\n" for i, value in enumerate(values))
    started = time.process_time()
    try:
        parsed(text)
    except RuleError as exc:
        assert exc.issues  # noqa: PT017 - every RuleError carries located issues
    assert time.process_time() - started < 1.0


def test_a_rule_file_with_anchors_and_merges_still_loads() -> None:
    text = minimal(
        "balance:\n"
        "  index: &even {potential: 0.5, effort: 0.5}\n"
        "  tolerance: 0.2\n"
        "coverage:\n"
        "  targets: &targets\n"
        "    <<: [{tier1: 0.8}, {tier1: 0.1, tier2: 0.5}]\n"
    )

    rule = load(text).rule

    assert (rule.coverage.targets.tier1, rule.coverage.targets.tier2) == (0.8, 0.5)
