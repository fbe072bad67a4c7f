"""Load a rule file from text: YAML 1.2 with positions, migrations, schema, cross-file checks.

Pure: the caller reads the file and passes its text and display name.
"""

from __future__ import annotations

import difflib
import hashlib
import types
import typing
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from rules.checks import check_rule_file
from rules.errors import RuleError, RuleIssue
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

    def routing_row_line(self, row_id: str) -> int:
        return self.routing_row_lines[row_id]


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
    )


def _migrated(doc: YamlDocument, data: dict[str, Any]) -> dict[str, Any]:
    if "version" not in data:
        raise RuleError(
            [
                RuleIssue(
                    doc.locate(()),
                    "version",
                    f"missing required key 'version' (the schema version; this release "
                    f"writes version: {CURRENT_VERSION})",
                )
            ]
        )
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int):
        source = doc.scalars.get(("version",))
        shown = source.text if source else repr(version)
        raise RuleError(
            [
                RuleIssue(
                    doc.locate(("version",)),
                    "version",
                    f"expected a whole number such as {CURRENT_VERSION}, got {shown}",
                )
            ]
        )
    try:
        return migrate(data, version)
    except UnknownVersionError as exc:
        raise RuleError([RuleIssue(doc.locate(("version",)), "version", str(exc))]) from None


def _issues_from_validation(doc: YamlDocument, exc: ValidationError) -> list[RuleIssue]:
    issues: dict[tuple[Path, str], RuleIssue] = {}
    for error in exc.errors(include_url=False):
        path = _document_path(doc, error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            message = _unknown_key_message(path)
            location = doc.locate(path, key=True)
        elif kind == "missing":
            message = f"missing required key '{path[-1]}'"
            location = doc.locate(path[:-1])
        else:
            message = _value_message(doc, path, error)
            location = doc.locate(path)
        issue = RuleIssue(location, format_path(path), message)
        issues.setdefault((path, message), issue)
    return list(issues.values())


def _document_path(doc: YamlDocument, loc: tuple[int | str, ...]) -> Path:
    """Turn a pydantic error location into a document path, dropping union-branch labels."""
    path: list[str | int] = []
    node: Any = doc.data
    for part in loc:
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part == loc[-1]:
            path.append(part)  # a missing or unknown key: it names the last step
            break
        # anything else is a pydantic label ("str", "int", "function-after[...]"): skip it
    return tuple(path)


def _value_message(doc: YamlDocument, path: Path, error: Any) -> str:
    kind: str = error["type"]
    source = doc.scalars.get(path)
    value = error.get("input")
    if kind == "string_type" and source is not None and not source.quoted:
        what = "a true/false" if isinstance(value, bool) else "a number"
        key = path[-1] if path and isinstance(path[-1], str) else "value"
        return (
            f"expected text, but YAML reads {source.text} as {what}; quote it: "
            f'{key}: "{source.text}"'
        )
    if kind.startswith(("date_", "datetime_")) and isinstance(value, str):
        reason = str(error.get("ctx", {}).get("error", "")) or error["msg"]
        return f"expected a date YYYY-MM-DD, got {value!r} ({reason})"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        shown = source.text if source is not None else repr(value)
        return f"expected one of {expected}, got {shown}"
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def _unknown_key_message(path: Path) -> str:
    key = str(path[-1])
    allowed = _allowed_keys(RuleFile, path[:-1])
    message = f"unknown key '{key}'"
    if allowed:
        close = difflib.get_close_matches(key, allowed, n=1)
        if close:
            message += f"; did you mean '{close[0]}'?"
        message += f" (expected one of: {', '.join(sorted(allowed))})"
    return message


def _allowed_keys(model: type[BaseModel], path: Path) -> list[str]:
    """Keys accepted by the model found at `path` below `model`."""
    current: Any = model
    for part in path:
        current = _unwrap(current)
        if isinstance(part, int):
            current = _item_type(current)
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = _field_by_key(current, part)
            if field is None:
                return []
            current = field
        else:
            current = _item_type(current, mapping=True)
        if current is None:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _field_by_key(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field.annotation
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


def _item_type(annotation: Any, *, mapping: bool = False) -> Any:
    origin = get_origin(annotation)
    args = get_args(annotation)
    if mapping and origin is dict and args:
        return args[1]
    if not mapping and origin in (list, tuple) and args:
        return args[0]
    return None
