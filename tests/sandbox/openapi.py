"""HubSpot's published OpenAPI documents (tests/fixtures/hubspot-openapi/), and a check of an
answer against the schema they give for it.

The check covers the JSON Schema subset those documents use: `$ref` to their own components,
`type`, `properties`, `required`, `additionalProperties`, `items`, `enum` and the formats
`date-time`, `uuid`, `int32` and `int64`. A keyword outside the subset is an error of the
check itself, so a newer document cannot be half-checked without anyone noticing. OpenAPI 3.0
has no `null` type and these documents never say `nullable`: a null is a mismatch.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Final

SPECS: Final = Path(__file__).resolve().parents[1] / "fixtures" / "hubspot-openapi"
# Keywords that describe rather than constrain.
_ANNOTATIONS: Final = frozenset({"description", "example", "title"})
_CHECKED: Final = frozenset(
    {"$ref", "type", "properties", "required", "additionalProperties", "items", "enum", "format"}
)
_INTEGER_RANGE: Final = {"int32": 2**31, "int64": 2**63}
Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Mismatch:
    """Where an answer differs from its schema.

    `where` is the JSON pointer in the answer; `schema` names the place in the document
    (`Component.property`, `*` for any key of a map, `[]` for any item); `found` is what the
    answer holds there: a JSON type, `missing`, or the value that is out of an enum or format.
    """

    where: str
    schema: str
    found: str

    def __str__(self) -> str:
        return f"{self.where or '/'}: {self.schema} does not allow {self.found}"


class OpenApiDocument:
    """One document of the spec collection."""

    def __init__(self, path: Path) -> None:
        self.name = path.name
        self.document: Json = json.loads(path.read_text(encoding="utf-8"))

    def response_schema(self, method: str, path: str, status: int) -> tuple[str, Json]:
        """The schema of the answer `status` to `method path` (the spec's path template), and
        its name; the `default` response when the status has none of its own."""
        operation = self.document["paths"][path][method.lower()]
        responses = operation["responses"]
        response = self._resolve(responses.get(str(status)) or responses["default"])
        content = response["content"]
        schema = (content.get("application/json") or content["*/*"])["schema"]
        return schema["$ref"].rsplit("/", 1)[-1], schema

    def check(self, answer: object, schema: Json, name: str) -> list[Mismatch]:
        """Every place where `answer` differs from `schema` (named `name`)."""
        return list(self._check(answer, schema, name, ""))

    def _resolve(self, node: Json) -> Json:
        while "$ref" in node:
            node = self._component(node["$ref"])
        return node

    def _component(self, ref: str) -> Json:
        if not ref.startswith("#/"):
            raise ValueError(f"{self.name}: only local references are checked, not {ref}")
        node: Any = self.document
        for part in ref[2:].split("/"):
            node = node[part]
        return node  # type: ignore[no-any-return]  # a JSON object, by the document's shape

    def _check(self, value: object, schema: Json, name: str, where: str) -> Iterator[Mismatch]:
        unknown = set(schema) - _CHECKED - _ANNOTATIONS
        if unknown:
            raise ValueError(f"{self.name}: {name} uses {sorted(unknown)}, which is not checked")
        if "$ref" in schema:
            ref = schema["$ref"]
            yield from self._check(value, self._component(ref), ref.rsplit("/", 1)[-1], where)
            return
        kind = schema.get("type")
        found = _json_type(value)
        if kind is not None and not _is(found, kind):
            yield Mismatch(where, name, found)
            return
        if "enum" in schema and value not in schema["enum"]:
            yield Mismatch(where, name, repr(value))
        fmt = schema.get("format")
        if fmt is not None and not _formatted(value, fmt):
            yield Mismatch(where, f"{name} ({fmt})", repr(value))
        if isinstance(value, dict):
            yield from self._check_object(value, schema, name, where)
        elif isinstance(value, list) and "items" in schema:
            for index, item in enumerate(value):
                yield from self._check(item, schema["items"], f"{name}[]", f"{where}/{index}")

    def _check_object(
        self, value: Mapping[str, object], schema: Json, name: str, where: str
    ) -> Iterator[Mismatch]:
        properties = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                yield Mismatch(f"{where}/{key}", f"{name}.{key}", "missing")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                yield from self._check(item, properties[key], f"{name}.{key}", f"{where}/{key}")
            elif isinstance(extra, dict):
                yield from self._check(item, extra, f"{name}.*", f"{where}/{key}")


@cache
def document(name: str) -> OpenApiDocument:
    """A document of tests/fixtures/hubspot-openapi/ by file name, read once."""
    return OpenApiDocument(SPECS / name)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _is(found: str, kind: str) -> bool:
    return found == kind or (kind == "number" and found == "integer")


def _formatted(value: object, fmt: str) -> bool:
    if fmt in _INTEGER_RANGE:
        bound = _INTEGER_RANGE[fmt]
        return not isinstance(value, int) or -bound <= value < bound
    if not isinstance(value, str):
        return True  # the type check has spoken
    if fmt == "date-time":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return False
        return "T" in value and moment.tzinfo is not None
    if fmt == "uuid":
        try:
            uuid.UUID(value)
        except ValueError:
            return False
        return True
    raise ValueError(f"format {fmt!r} is not checked")
