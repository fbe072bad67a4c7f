"""Read a YAML 1.2 document into plain values while remembering where every value came from.

ruamel.yaml composes the node tree (YAML 1.2 resolution: `NO` is a string, `1.10` a float
that still remembers its text). We build the Python values ourselves so that duplicate keys
are errors with both places named, timestamps stay text for the schema to judge (an
impossible `2027-02-31` becomes a located error, not a crash), and every path maps to a
line and column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from rules.errors import Location, RuleError, RuleIssue

Path = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_EXPECTED = "expected a mapping of rule settings (version:, revision:, teams:, routing:, …)"


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
    def __init__(self, file: str) -> None:
        self.doc = YamlDocument(file=file, data=None)
        self.issues: list[RuleIssue] = []

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
        for key_node, value_node in self._merged_pairs(node):
            key_loc = _location(self.doc.file, key_node)
            if not isinstance(key_node, ScalarNode):
                self.issues.append(
                    RuleIssue(key_loc, format_path(path), "a key must be a plain value")
                )
                continue
            # Keys are names: `1.10:` or `true:` keep the text they were written as.
            key: str = key_node.value
            child = (*path, key)
            if key in seen:
                first = seen[key]
                self.issues.append(
                    RuleIssue(
                        key_loc,
                        format_path(child),
                        f"duplicate key '{key}' (first defined at line {first.line}, "
                        f"column {first.column}); a second definition would silently "
                        "replace the first",
                    )
                )
                continue
            seen[key] = key_loc
            self.doc.key_at[child] = key_loc
            out[key] = self.build(value_node, child)
            if (
                isinstance(value_node, ScalarNode)
                and value_node.value == ""
                and not value_node.style
            ):
                # An empty value is marked where the next token starts, often the next line.
                self.doc.value_at[child] = key_loc
        return out

    def _merged_pairs(self, node: MappingNode) -> list[tuple[Node, Node]]:
        pairs: list[tuple[Node, Node]] = []
        merged: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            if str(key_node.tag) == _TAG + "merge":
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    if isinstance(source, MappingNode):
                        merged.extend(self._merged_pairs(source))
                continue
            pairs.append((key_node, value_node))
        explicit = {k.value for k, _ in pairs if isinstance(k, ScalarNode)}
        return pairs + [(k, v) for k, v in merged if k.value not in explicit]

    def _scalar(self, node: ScalarNode, path: Path) -> Any:
        text: str = node.value
        quoted = node.style is not None
        self.doc.scalars[path] = ScalarSource(text=text, quoted=quoted)
        tag = str(node.tag)
        if quoted or not tag.startswith(_TAG):
            return text
        kind = tag.removeprefix(_TAG)
        if kind == "null":
            return None
        if kind == "bool":
            return text.lower() == "true"
        try:
            if kind == "int":
                return _parse_int(text)
            if kind == "float":
                return _parse_float(text)
        except ValueError:
            # ruamel resolves a few spellings Python cannot read; the schema judges the text.
            return text
        # str, timestamp and anything else stay text; the schema decides what they mean.
        return text


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


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML 1.2 document; raise RuleError (located) for anything unreadable."""
    # The safe parser keeps marks and quoting style; the round-trip one also gathers comments,
    # which costs a fifth of the time and is never used.
    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 2)
    try:
        node = yaml.compose(text)
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
    builder = _Builder(file)
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
