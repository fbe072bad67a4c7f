"""Load a rule file from text: YAML 1.2 with positions, migrations, schema, cross-file checks.

Pure: the caller reads the file and passes its text and display name.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import types
import typing
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from rules.checks import check_rule_file
from rules.errors import Location, RuleError, RuleIssue
from rules.migrations import UnknownVersionError, migrate
from rules.schema import CURRENT_VERSION, RuleFile
from rules.yaml_source import Path, YamlDocument, format_path, parse_yaml


@dataclass(frozen=True, slots=True)
class LoadedRules:
    """A valid rule file, its digest, and where its rows are written (for explain)."""

    rule: RuleFile
    sha256: str
    file: str
    routing_row_lines: dict[str, int]
    fit_row_lines: tuple[int, ...]
    document: YamlDocument = dataclasses.field(repr=False, compare=False)

    def routing_row_line(self, row_id: str) -> int:
        return self.routing_row_lines[row_id]

    def locate(self, path: Path) -> Location:
        """Where `path` (e.g. ('teams', 0, 'members', 1, 'email')) is written in the file."""
        return self.document.locate(path)


def load_rules(text: str, file: str) -> LoadedRules:
    """Return the validated rule file in `text`, or raise RuleError with every located issue."""
    doc = parse_yaml(text, file)
    data: dict[str, Any] = doc.data
    data = _migrated(doc, data)
    try:
        rule = RuleFile.model_validate(data)
    except ValidationError as exc:
        raise RuleError(_issues_from_validation(doc, exc)) from None
    issues = check_rule_file(rule, doc)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise RuleError(errors)
    return LoadedRules(
        rule=rule,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        file=file,
        routing_row_lines={
            row.id: doc.locate(("routing", "rows", i)).line
            for i, row in enumerate(rule.routing.rows)
        },
        fit_row_lines=tuple(doc.locate(("fit", i)).line for i in range(len(rule.fit))),
        document=doc,
    )


def _migrated(doc: YamlDocument, data: dict[str, Any]) -> dict[str, Any]:
    def fail(message: str) -> RuleError:
        return RuleError([RuleIssue(doc.locate(("version",)), "version", message)])

    if "version" not in data:
        raise fail(
            f"missing required key 'version' (the schema version; this release writes "
            f"version: {CURRENT_VERSION})"
        )
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise fail(
            f"expected a whole number such as version: {CURRENT_VERSION}, "
            f"got {_shown(doc, ('version',))}"
        )
    try:
        return migrate(data, version)
    except UnknownVersionError as exc:
        raise fail(str(exc)) from None


# Error types that say "the value has the wrong type", and what was expected instead.
_EXPECTED_TYPE = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_BOUND_WORDS = (("gt", "above"), ("ge", "at least"), ("lt", "below"), ("le", "at most"))
_BOUND_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")
_NUMBER_ERRORS = (
    *_BOUND_ERRORS,
    *("int_type", "int_parsing", "int_from_float", "float_type", "float_parsing"),
    "finite_number",
)


def _issues_from_validation(doc: YamlDocument, exc: ValidationError) -> list[RuleIssue]:
    by_place: dict[tuple[Path, bool], list[ErrorDetails]] = {}
    for error in exc.errors(include_url=False):
        by_place.setdefault(_document_path(doc, error), []).append(error)
    # A misspelt key also shows as the real key missing; the unknown-key issue says it all.
    suggested = {
        (path[:-1], suggestion)
        for (path, on_key), errors in by_place.items()
        if on_key and errors[0]["type"] == "extra_forbidden"
        for suggestion in [_close_key(path)]
        if suggestion is not None
    }
    issues: dict[tuple[Location, str], RuleIssue] = {}

    def add(location: Location, path: Path, message: str) -> None:
        issues.setdefault((location, message), RuleIssue(location, format_path(path), message))

    for (path, on_key), errors in by_place.items():
        type_errors = [e for e in errors if e["type"] in _EXPECTED_TYPE]
        rest = errors
        if len(type_errors) > 1:
            # Every branch of a union failed: say once what any branch would have taken.
            add(doc.locate(path), path, _union_message(doc, path, type_errors))
            rest = [e for e in errors if e not in type_errors]
        for error in rest:
            kind = error["type"]
            if kind == "extra_forbidden":
                add(doc.locate(path, key=True), path, _unknown_key_message(path))
            elif kind == "missing" and isinstance(error["loc"][-1], int):
                add(doc.locate(path), path, _pair_message(doc, path))
            elif kind == "missing":
                if (path[:-1], path[-1]) not in suggested:
                    add(doc.locate(path[:-1], key=True), path, _missing_message(path))
            else:
                on_mapping = isinstance(_node_at(doc, path), dict)
                location = doc.locate(path, key=on_key or on_mapping)
                add(location, path, _value_message(doc, path, error, on_key=on_key))
    return list(issues.values())


def _document_path(doc: YamlDocument, error: ErrorDetails) -> tuple[Path, bool]:
    """The document path a pydantic error is about, and whether it is about a mapping key.

    Pydantic locations carry union-branch labels ("str", "function-after[...]") and "[key]"
    for a bad mapping key; only steps that exist in the document are kept.
    """
    loc = error["loc"]
    names_key = error["type"] in ("missing", "extra_forbidden")
    path: list[str | int] = []
    node: Any = doc.data
    for i, part in enumerate(loc):
        if part == "[key]":
            return tuple(path), True
        if _has_step(node, part):
            path.append(part)
            node = node[part]
        elif names_key and isinstance(node, dict) and isinstance(part, str) and i == len(loc) - 1:
            path.append(part)
            break
    return tuple(path), error["type"] == "extra_forbidden"


def _node_at(doc: YamlDocument, path: Path) -> Any:
    node: Any = doc.data
    for part in path:
        if not _has_step(node, part):
            return None
        node = node[part]
    return node


def _has_step(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return isinstance(part, str) and part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _shown(doc: YamlDocument, path: Path) -> str:
    """The value at `path` as the file writes it, for "got ..." in a message."""
    node = _node_at(doc, path)
    if isinstance(node, dict):
        return "a mapping"
    if isinstance(node, list):
        return "a list"
    source = doc.scalars.get(path)
    if source is None or (node is None and source.text == ""):
        return "an empty value"
    text = source.text if len(source.text) <= 60 else source.text[:57] + "..."
    return f'"{text}" (quoted text)' if source.quoted else text


def _value_message(doc: YamlDocument, path: Path, error: ErrorDetails, *, on_key: bool) -> str:
    kind = error["type"]
    ctx: dict[str, Any] = error.get("ctx") or {}
    value = _node_at(doc, path)
    shown = repr(str(path[-1])) if on_key else _shown(doc, path)
    source = doc.scalars.get(path)
    if kind == "string_type" and isinstance(value, bool | int | float) and source is not None:
        what = "true/false" if isinstance(value, bool) else "a number"
        key = f"{path[-1]}: " if path and isinstance(path[-1], str) else ""
        return (
            f'expected text, but YAML reads {source.text} as {what}; quote it: {key}"{source.text}"'
        )
    if kind == "list_type" and source is not None and not isinstance(value, dict):
        return f"expected a list such as [{source.text}], got {shown}"
    if kind in _EXPECTED_TYPE or kind in _BOUND_ERRORS:
        return f"expected {_expected(path, kind, ctx)}, got {shown}"
    if kind.startswith(("date_", "datetime_")):
        reason = str(ctx.get("error", "")) or error["msg"]
        return f"expected a date YYYY-MM-DD such as 2027-06-30, got {shown} ({reason})"
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        one_of = "one of " if " or " in expected else ""
        message = f"expected {one_of}{expected}, got {shown}"
        literal = _key_type(path[:-1]) if on_key else _unwrap(_annotation_at(path))
        choices = [str(c) for c in get_args(literal)]
        close = difflib.get_close_matches(str(path[-1] if on_key else value), choices, n=1)
        return message + (f"; did you mean '{close[0]}'?" if close else "")
    if kind == "too_short" and ctx.get("field_type") == "Tuple":
        return _pair_message(doc, path)
    if kind == "too_long" and ctx.get("field_type") == "Tuple":
        return _pair_message(doc, path)
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return f"expected at least {least} {'entry' if least == 1 else 'entries'}, got none"
    if kind == "string_too_short":
        return "expected text, got an empty string"
    return error["msg"].removeprefix("Value error, ")


def _union_message(doc: YamlDocument, path: Path, errors: list[ErrorDetails]) -> str:
    words = list(dict.fromkeys(_EXPECTED_TYPE[e["type"]] for e in errors))
    if "a finite number" in words:
        words = [w for w in words if w not in ("a number", "a whole number")]
    elif "a number" in words and "a whole number" in words:
        words.remove("a whole number")
    message = f"expected {' or '.join(words)}, got {_shown(doc, path)}"
    if path and path[-1] in ("eq", "ne") and isinstance(_node_at(doc, path), list):
        other = "in" if path[-1] == "eq" else "not_in"
        message += f"; to compare with several values use {other}: [...]"
    return message


def _pair_message(doc: YamlDocument, path: Path) -> str:
    node = _node_at(doc, path)
    count = len(node) if isinstance(node, list) else 0
    return f"expected two numbers [low, high], got {count} value{'' if count == 1 else 's'}"


def _missing_message(path: Path) -> str:
    message = f"missing required key '{path[-1]}'"
    field = _field_at(path)
    if field is not None and field.description:
        message += f" ({field.description})"
    return message


def _expected(path: Path, kind: str, ctx: dict[str, Any]) -> str:
    """What a field takes, with its bounds: 'a whole number above 0', 'a number at most 1'."""
    if kind not in _NUMBER_ERRORS:
        return _EXPECTED_TYPE[kind]
    annotation = _annotation_at(path)
    bounds = _bounds(annotation)
    field = _field_at(path)
    if field is not None:
        bounds.update(_bounds_of(field.metadata))
    if not bounds:
        bounds = {k: ctx[k] for k, _ in _BOUND_WORDS if k in ctx}
    whole = _unwrap(annotation) is int or kind.startswith("int")
    words = [f"{word} {bounds[k]:g}" for k, word in _BOUND_WORDS if k in bounds]
    noun = (
        "a whole number" if whole else "a finite number" if kind == "finite_number" else "a number"
    )
    return noun + (" " + " and ".join(words)) * bool(words)


def _bounds(annotation: Any) -> dict[str, float]:
    found: dict[str, float] = {}
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        base, *metadata = get_args(annotation)
        found.update(_bounds(base))
        found.update(_bounds_of(metadata))
    elif origin in (typing.Union, types.UnionType):
        for arg in get_args(annotation):
            found.update(_bounds(arg))
    return found


def _bounds_of(metadata: list[Any]) -> dict[str, float]:
    found: dict[str, float] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            found.update(_bounds_of(item.metadata))
        for key, _ in _BOUND_WORDS:
            bound = getattr(item, key, None)
            if isinstance(bound, int | float):
                found[key] = bound
    return found


def _close_key(path: Path) -> str | None:
    close = difflib.get_close_matches(str(path[-1]), _allowed_keys(path[:-1]), n=1)
    return close[0] if close else None


def _unknown_key_message(path: Path) -> str:
    allowed = _allowed_keys(path[:-1])
    message = f"unknown key '{path[-1]}'"
    if allowed:
        close = _close_key(path)
        if close:
            message += f"; did you mean '{close}'?"
        message += f" (expected one of: {', '.join(sorted(allowed))})"
    return message


def _allowed_keys(path: Path) -> list[str]:
    """Keys accepted by the model found at `path` of a rule file."""
    current = _unwrap(_annotation_at(path))
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _annotation_at(path: Path) -> Any:
    """The type annotation of the value at `path` of a rule file (None when unknown)."""
    current: Any = RuleFile
    for part in path:
        current = _unwrap(current)
        if isinstance(part, int):
            current = _item_type(current)
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = _field_by_key(current, part)
            current = None if field is None else field.annotation
        else:
            current = _item_type(current, mapping=True)
        if current is None:
            return None
    return current


def _field_at(path: Path) -> FieldInfo | None:
    """The model field at `path`, when the last step is a field of a model."""
    if not path or not isinstance(path[-1], str):
        return None
    parent = _unwrap(_annotation_at(path[:-1]))
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        return _field_by_key(parent, path[-1])
    return None


def _field_by_key(model: type[BaseModel], key: str) -> FieldInfo | None:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Optional and Annotated wrappers."""
    while True:
        origin = get_origin(annotation)
        if origin is typing.Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _key_type(path: Path) -> Any:
    """The key type of the mapping at `path` (None when it is not a plain mapping)."""
    annotation = _unwrap(_annotation_at(path))
    if get_origin(annotation) is dict:
        return _unwrap(get_args(annotation)[0])
    return None


def _item_type(annotation: Any, *, mapping: bool = False) -> Any:
    origin = get_origin(annotation)
    args = get_args(annotation)
    if mapping and origin is dict and args:
        return args[1]
    if not mapping and origin in (list, tuple) and args:
        return args[0]
    return None
