"""Read a YAML 1.2 document into plain values while remembering where every value came from.

ruamel.yaml composes the node tree (YAML 1.2 resolution: `NO` is a string, `1.10` a float
that still remembers its text). We build the Python values ourselves so that duplicate keys
are errors with both places named, timestamps stay text for the schema to judge (an
impossible `2027-02-31` becomes a located error, not a crash), and every path maps to a
line and column.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from rules.errors import Location, RuleError, RuleIssue
from rules.yaml_limits import YAML_TAG, BoundedComposer, BoundedScanner, YamlLimitError

Path = tuple[str | int, ...]

_EXPECTED = "expected a mapping of rule settings (version:, revision:, teams:, routing:, …)"
# The reference rule file is 8 KB. ruamel's pure-Python reader takes a third of a second per
# megabyte of one long string and seconds per megabyte of short values (capped by MAX_VALUES).
MAX_CHARS = 2_000_000
_MERGE_EXPECTED = "expected a mapping (or a list of mappings) to merge with <<"


@dataclass(frozen=True, slots=True)
class ScalarSource:
    """The text a scalar was written as, and whether it was quoted."""

    text: str
    quoted: bool


@dataclass(slots=True)
class YamlDocument:
    """Plain values (dict/list/str/int/float/bool/None) plus positions keyed by path."""

    file: str
    data: Any
    value_at: dict[Path, Location] = field(default_factory=dict)
    key_at: dict[Path, Location] = field(default_factory=dict)
    scalars: dict[Path, ScalarSource] = field(default_factory=dict)

    def locate(self, path: Path, *, key: bool = False) -> Location:
        """Best location for `path`: the key or value itself, else its nearest ancestor."""
        probe = path
        while True:
            table = self.key_at if key else self.value_at
            if probe in table:
                return table[probe]
            if key and probe in self.value_at:
                return self.value_at[probe]
            if not probe:
                return Location(self.file, 1, 1)
            probe = probe[:-1]


def format_path(path: Path) -> str:
    """`('routing', 'rows', 3, 'assign')` -> `routing.rows[3].assign`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _location(file: str, node: Node) -> Location:
    mark = node.start_mark
    return Location(file, mark.line + 1, mark.column + 1)


def _mark_location(file: str, error: MarkedYAMLError) -> Location:
    mark = error.problem_mark or error.context_mark
    if mark is None:
        return Location(file, 1, 1)
    return Location(file, mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, file: str, explicit_tags: set[int]) -> None:
        self.doc = YamlDocument(file=file, data=None)
        # A dict keeps each issue once: a merged value is built for every mapping merging it.
        self.issues: dict[RuleIssue, None] = {}
        self.explicit_tags = explicit_tags

    def report(self, location: Location, path: Path, message: str) -> None:
        self.issues[RuleIssue(location, format_path(path), message)] = None

    def build(self, node: Node, path: Path) -> Any:
        self.doc.value_at[path] = _location(self.doc.file, node)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self._scalar(node, path)

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        seen: dict[str, Location] = {}
        for key_node, value_node in self._merged_pairs(node, path):
            key_loc = _location(self.doc.file, key_node)
            if not isinstance(key_node, ScalarNode):
                self.report(key_loc, path, "a key must be a plain value")
                continue
            # Keys are names: `1.10:` or `true:` keep the text they were written as.
            key: str = key_node.value
            child = (*path, key)
            if key in seen:
                self._duplicate(key_loc, child, seen[key])
                continue
            seen[key] = key_loc
            self.doc.key_at[child] = key_loc
            out[key] = self.build(value_node, child)
            if _is_empty(value_node):
                # An empty value is marked where the next token starts, often the next line.
                self.doc.value_at[child] = key_loc
        return out

    def _duplicate(self, location: Location, path: Path, first: Location) -> None:
        self.report(
            location,
            path,
            f"duplicate key '{path[-1]}' (first defined at line {first.line}, column "
            f"{first.column}); a second definition would silently replace the first",
        )

    def _merged_pairs(self, node: MappingNode, path: Path) -> list[tuple[Node, Node]]:
        """The mapping's own pairs, then those merged in with `<<` under keys it lacks.

        As YAML's merge key specifies, an earlier mapping in `<<: [...]` wins over a later one.
        The composer has refused merges that contain themselves or nest past the depth limit.
        """
        pairs: list[tuple[Node, Node]] = []
        merged: list[tuple[Node, Node]] = []
        merge_key: Location | None = None
        for key_node, value_node in node.value:
            if str(key_node.tag) != YAML_TAG + "merge":
                pairs.append((key_node, value_node))
                continue
            key_loc = _location(self.doc.file, key_node)
            if merge_key is not None:
                self._duplicate(key_loc, (*path, "<<"), merge_key)
                continue
            merge_key = key_loc
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                if isinstance(source, MappingNode):
                    merged.extend(self._merged_pairs(source, path))
                else:
                    # At the key: an alias's node is located where its anchor is defined.
                    got = _described(source)
                    self.report(key_loc, (*path, "<<"), f"{_MERGE_EXPECTED}, got {got}")
        taken = {key.value for key, _ in pairs if isinstance(key, ScalarNode)}
        for key_node, value_node in merged:
            if isinstance(key_node, ScalarNode):
                if key_node.value in taken:
                    continue
                taken.add(key_node.value)
            pairs.append((key_node, value_node))
        return pairs

    def _scalar(self, node: ScalarNode, path: Path) -> Any:
        text: str = node.value
        self.doc.scalars[path] = ScalarSource(text=text, quoted=node.style is not None)
        # A quoted scalar resolves to str unless a tag says otherwise; the composer has
        # refused every tag outside YAML's core schema.
        kind = str(node.tag).removeprefix(YAML_TAG)
        read = _READERS.get(kind)
        if read is None:
            # str, timestamp and the rest stay text; the schema decides what they mean.
            return text
        try:
            return read(text)
        except ValueError:
            if id(node) in self.explicit_tags:
                self.report(
                    _location(self.doc.file, node),
                    path,
                    f"expected {_TAG_TAKES[kind]} after the tag !!{kind}, got {_described(node)}",
                )
            # ruamel resolves a few spellings Python cannot read; the schema judges the text.
            return text


def _is_empty(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.value == "" and not node.style


def _described(node: Node) -> str:
    """A node as a message shows it after "got"."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    assert isinstance(node, ScalarNode)
    if _is_empty(node):
        return "an empty value"
    text: str = node.value if len(node.value) <= 40 else node.value[:37] + "..."
    return f'"{text}"' if node.style else text


def _parse_null(text: str) -> None:
    if text not in ("", "~", "null", "Null", "NULL"):
        raise ValueError(text)


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise ValueError(text)
    return lowered == "true"


def _parse_int(text: str) -> int:
    cleaned = text.lower().replace("_", "")
    sign = -1 if cleaned.startswith("-") else 1
    digits = cleaned.lstrip("+-")
    for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
        if digits.startswith(prefix):
            return sign * int(digits.removeprefix(prefix), base)
    # YAML 1.2 reads `017` as seventeen, not as octal.
    return sign * int(digits, 10)


def _parse_float(text: str) -> float:
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return -math.inf if lowered.startswith("-") else math.inf
    if lowered.endswith(".nan"):
        return math.nan
    return float(lowered.replace("_", ""))


_READERS: dict[str, Callable[[str], Any]] = {
    "null": _parse_null,
    "bool": _parse_bool,
    "int": _parse_int,
    "float": _parse_float,
}
_TAG_TAKES = {
    "null": "an empty value, ~ or null",
    "bool": "true or false",
    "int": "a whole number",
    "float": "a number",
}


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML 1.2 document; raise RuleError (located) for anything unreadable.

    Bounded: at most MAX_CHARS characters, and the composer's limits on nesting depth and on
    values after aliases are expanded, so no file can make this slow, large or recursive.
    """
    if len(text) > MAX_CHARS:
        raise RuleError(
            [
                RuleIssue(
                    _offset_location(file, text, MAX_CHARS),
                    "",
                    f"expected a rule file of at most {MAX_CHARS:,} characters, got "
                    f"{len(text):,}; this is the first one past the limit",
                )
            ]
        )
    # The safe parser keeps marks and quoting style; the round-trip one also gathers comments,
    # which costs a fifth of the time and is never used.
    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 2)
    yaml.Scanner = BoundedScanner
    yaml.Composer = BoundedComposer
    try:
        node = yaml.compose(text)
    except YamlLimitError as exc:
        location = Location(file, exc.mark.line + 1, exc.mark.column + 1)
        raise RuleError([RuleIssue(location, "", exc.message)]) from None
    except MarkedYAMLError as exc:
        problem = exc.problem or exc.context or "invalid YAML"
        raise RuleError(
            [RuleIssue(_mark_location(file, exc), "", f"YAML syntax error: {problem}")]
        ) from None
    except ReaderError as exc:
        # Raised before any token exists, so it has an offset into the text instead of a mark.
        raise RuleError(
            [
                RuleIssue(
                    _offset_location(file, text, exc.position),
                    "",
                    f"unreadable character #x{exc.character:04x}: {exc.reason}",
                )
            ]
        ) from None
    except YAMLError as exc:
        raise RuleError([RuleIssue(Location(file, 1, 1), "", f"YAML error: {exc}")]) from None
    if node is None:
        raise RuleError([RuleIssue(Location(file, 1, 1), "", f"the file is empty; {_EXPECTED}")])
    builder = _Builder(file, yaml.composer.explicit_tags)
    data = builder.build(node, ())
    if builder.issues:
        raise RuleError(builder.issues)
    if not isinstance(data, dict):
        if isinstance(data, list):
            got = "a list"
        elif data is None or data == "":
            got = "an empty document"
        else:
            got = f"the single value {str(node.value)[:40]!r}"
        raise RuleError([RuleIssue(builder.doc.locate(()), "", f"{_EXPECTED}, got {got}")])
    builder.doc.data = data
    return builder.doc


def _offset_location(file: str, text: str, offset: int) -> Location:
    before = text[:offset]
    line = before.count("\n") + 1
    return Location(file, line, offset - (before.rfind("\n") + 1) + 1)
