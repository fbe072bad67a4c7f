"""Read YAML within limits a hostile rule file cannot talk its way past.

ruamel.yaml's composer recurses once per nesting level and hands back one shared node for
every alias, so a few hundred bytes can ask for unbounded depth (a RecursionError), a node
that contains itself (`a: &a [*a]`), or billions of values once aliases are expanded. This
composer measures every anchored node as it is composed, so each of those is refused at the
alias or bracket that crosses the line, before anything is expanded. The scanner refuses a
`%YAML` directive for any version but 1.2, which would change what plain values mean.
"""

from __future__ import annotations

import copy
from typing import Any

from ruamel.yaml.composer import Composer
from ruamel.yaml.error import StreamMark
from ruamel.yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent
from ruamel.yaml.nodes import Node, ScalarNode
from ruamel.yaml.scanner import Scanner
from ruamel.yaml.tokens import DirectiveToken

# A real rule file nests lists and mappings about six deep; the limit also keeps every
# recursive walk of the document (compose, build, validate) far from Python's stack limit.
MAX_DEPTH = 64
# The reference rule file holds about 300; a large org's (thousands of reps and routing
# rows) tens of thousands. Each alias counts as every value it repeats.
MAX_VALUES = 100_000

YAML_TAG = "tag:yaml.org,2002:"
# Explicit tags a rule file may carry (YAML's core schema), by the node they stand on.
_TAGS_ALLOWED: dict[type, tuple[str, frozenset[str]]] = {
    ScalarEvent: ("a value", frozenset({"str", "int", "float", "bool", "null"})),
    SequenceStartEvent: ("a list", frozenset({"seq"})),
    MappingStartEvent: ("a mapping", frozenset({"map"})),
}


class YamlLimitError(Exception):
    """The document breaks one of these limits at `mark`; `message` says which."""

    def __init__(self, mark: StreamMark, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


class BoundedScanner(Scanner):
    """A Scanner that refuses `%YAML` for any version but 1.2, and deep flow nesting early."""

    def scan_directive(self) -> Any:
        token: DirectiveToken = super().scan_directive()
        if token.name == "YAML" and token.value != (1, 2):
            major, minor = token.value
            why = " (YAML 1.1 would read NO as false)" if (major, minor) == (1, 1) else ""
            raise YamlLimitError(
                token.start_mark,
                f"expected YAML 1.2 (how rule files are read), got %YAML {major}.{minor}; "
                f"remove the directive{why}",
            )
        return token

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:  # noqa: N803 - ruamel's name
        # The scanner reads up to 1,024 characters ahead of the composer and checks every open
        # `[` or `{` at each token: without this, 100,000 brackets take seconds to refuse.
        if self.flow_level >= MAX_DEPTH:
            raise YamlLimitError(self.reader.get_mark(), _too_deep())
        super().fetch_flow_collection_start(TokenClass, to_push)


class BoundedComposer(Composer):
    """A Composer that refuses deep nesting, recursive aliases, runaway expansion and tags."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        # YAML lets an anchor be defined again; an alias means the latest one.
        self.warn_double_anchors = False
        self.values = 0
        # The deepest level reached so far inside the node being composed, aliases expanded.
        self.reach = 0
        # id(anchored node) -> (values it expands to, levels it spans); absent while open.
        self.shapes: dict[int, tuple[int, int]] = {}
        # ids of scalar nodes whose tag was written, not resolved from their text.
        self.explicit_tags: set[int] = set()

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            return self._alias(parent, index, event)
        level = self.depth + 1
        if level > MAX_DEPTH:
            raise YamlLimitError(event.start_mark, _too_deep())
        explicit = _explicit_tag(event)
        start = self.values
        self._count(1, event.start_mark)
        outer_reach, self.reach = self.reach, level
        node: Node = super().compose_node(parent, index)
        height = self.reach - level + 1
        self.reach = max(outer_reach, self.reach)
        if explicit:
            self.explicit_tags.add(id(node))
        if event.anchor is not None:
            self.shapes[id(node)] = (self.values - start, height)
        return node

    def _alias(self, parent: Any, index: Any, event: AliasEvent) -> Any:
        node: Node = super().compose_node(parent, index)  # raises on an undefined alias
        shape = self.shapes.get(id(node))
        if shape is None:
            anchored = node.start_mark
            raise YamlLimitError(
                event.start_mark,
                f"expected an alias to a finished value, but *{event.anchor} is inside the "
                f"value anchored as &{event.anchor} (line {anchored.line + 1}, column "
                f"{anchored.column + 1}), which would then contain itself",
            )
        values, height = shape
        self._count(values, event.start_mark, alias=event.anchor)
        if self.depth + height > MAX_DEPTH:
            raise YamlLimitError(
                event.start_mark,
                f"expected at most {MAX_DEPTH} levels of lists and mappings inside each "
                f"other, but *{event.anchor} here, expanded, reaches {self.depth + height}",
            )
        self.reach = max(self.reach, self.depth + height)
        if not isinstance(node, ScalarNode):
            return node
        # A copy costs little and is located where the alias is written, so an issue about
        # this use (a duplicate key, a wrong value) points at it.
        used = copy.copy(node)
        used.start_mark, used.end_mark = event.start_mark, event.end_mark
        if id(node) in self.explicit_tags:
            self.explicit_tags.add(id(used))
        return used

    def _count(self, values: int, mark: StreamMark, *, alias: str | None = None) -> None:
        self.values += values
        if self.values <= MAX_VALUES:
            return
        expected = (
            f"expected at most {MAX_VALUES:,} keys and values in a rule file, each alias "
            "counting as every value it repeats"
        )
        if alias is None:
            raise YamlLimitError(mark, f"{expected}; this is one more")
        raise YamlLimitError(
            mark, f"{expected}; *{alias} repeats {values:,}, bringing the file to {self.values:,}"
        )


def _too_deep() -> str:
    return (
        f"expected at most {MAX_DEPTH} levels of lists and mappings inside each other, "
        "found more here"
    )


def _explicit_tag(event: Any) -> bool:
    """Whether `event` carries a written tag; raise YamlLimitError for one we do not read."""
    tag = event.ctag
    if tag is None or str(tag) == "!":
        return False
    name = str(tag)
    what, allowed = _TAGS_ALLOWED[type(event)]
    if name.removeprefix(YAML_TAG) in allowed and name.startswith(YAML_TAG):
        return True
    shown = "!!" + name.removeprefix(YAML_TAG) if name.startswith(YAML_TAG) else name
    raise YamlLimitError(
        event.start_mark,
        f"expected plain YAML, got the tag {shown} on {what}; rule files hold text, numbers, "
        "true/false, lists and mappings only (remove the tag)",
    )
