"""The SOQL subset the sandbox understands: a tokenizer, a parser, a binder and an evaluator.

Grammar (keywords and field names are case-insensitive; everything else is refused with
`MALFORMED_QUERY`, naming the column, so a connector that drifts out of the subset fails loudly
instead of being answered wrongly):

    query      := SELECT field ("," field)* FROM object
                  [WHERE condition] [ORDER BY ordering ("," ordering)*] [LIMIT integer]
    condition  := conjunct (OR conjunct)*
    conjunct   := factor (AND factor)*
    factor     := NOT factor | "(" condition ")" | field operator value
                | field [NOT] IN "(" value ("," value)* ")"
    operator   := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    value      := 'string' | number | TRUE | FALSE | NULL
                | 2026-01-05 | 2026-01-05T09:00:00Z | 2026-01-05T09:00:00.000+0000
    ordering   := field [ASC | DESC] [NULLS FIRST | NULLS LAST]

Semantics follow Salesforce where the connector depends on them: text compares
case-insensitively but ids compare exactly (18-character ids are case-sensitive); a filter value
must have the field's type (a quoted datetime is an error, as in Salesforce); `!=` with a value
also matches empty fields; ascending order puts nulls first and descending order puts them last.
`bind` checks a parsed query against an object's fields (`INVALID_FIELD` for unknown ones) and
returns it with the fields' canonical spelling, which is how records name them.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Final, Literal, NoReturn

FieldType = Literal[
    "id", "reference", "string", "picklist", "url", "email", "textarea", "double", "int",
    "currency", "boolean", "date", "datetime",
]  # fmt: skip
Schema = Mapping[str, FieldType]  # canonical field name -> type
Row = Mapping[str, object]

_EXACT: Final = frozenset({"id", "reference"})
_TEXT: Final = frozenset({"string", "picklist", "url", "email", "textarea"}) | _EXACT
_NUMBER: Final = frozenset({"double", "int", "currency"})
# Which literal kinds a field of each type accepts (null is accepted by = and != only).
_ACCEPTS: Final[dict[str, frozenset[str]]] = {
    **dict.fromkeys(_TEXT, frozenset({"string"})),
    **dict.fromkeys(_NUMBER, frozenset({"number"})),
    "boolean": frozenset({"boolean"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"datetime"}),
}
_KEYWORDS: Final = frozenset([
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "ORDER", "BY", "ASC", "DESC", "NULLS",
    "FIRST", "LAST", "LIMIT", "NULL", "TRUE", "FALSE",
])  # fmt: skip
# SOQL that exists but is outside the subset: named in the error instead of "unexpected token".
_UNSUPPORTED: Final = frozenset([
    "GROUP", "HAVING", "OFFSET", "LIKE", "INCLUDES", "EXCLUDES", "WITH", "FOR", "TYPEOF", "USING",
    "UPDATE", "COUNT",
])  # fmt: skip
_TOKEN: Final = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<operator>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
# Parentheses and NOTs around one comparison; Salesforce refuses long queries well before this.
MAX_NESTING: Final = 50
_ESCAPES: Final = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", '"': '"'}


class SoqlError(ValueError):
    """A query outside the subset or wrong for the object: Salesforce's error code + message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Value:
    """A literal: `kind` is string, number, boolean, null, date or datetime."""

    kind: str
    value: object
    text: str


@dataclass(frozen=True, slots=True)
class Comparison:
    field: str
    operator: str  # =, !=, <, <=, >, >=
    value: Value

    def matches(self, row: Row, schema: Schema) -> bool:
        return _compare(self.operator, row.get(self.field), self.value.value, schema[self.field])


@dataclass(frozen=True, slots=True)
class Membership:
    field: str
    values: tuple[Value, ...]
    negated: bool

    def matches(self, row: Row, schema: Schema) -> bool:
        found = any(
            _compare("=", row.get(self.field), v.value, schema[self.field]) for v in self.values
        )
        return found != self.negated


@dataclass(frozen=True, slots=True)
class Junction:
    operator: Literal["AND", "OR"]
    parts: tuple[Condition, ...]

    def matches(self, row: Row, schema: Schema) -> bool:
        test = all if self.operator == "AND" else any
        return test(part.matches(row, schema) for part in self.parts)


@dataclass(frozen=True, slots=True)
class Negation:
    part: Condition

    def matches(self, row: Row, schema: Schema) -> bool:
        return not self.part.matches(row, schema)


Condition = Comparison | Membership | Junction | Negation


@dataclass(frozen=True, slots=True)
class Ordering:
    field: str
    descending: bool = False
    nulls_last: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    fields: tuple[str, ...]
    sobject: str
    where: Condition | None = None
    order_by: tuple[Ordering, ...] = ()
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    column: int

    @property
    def keyword(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


# ---- tokenizer and parser ---------------------------------------------------------------------


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _malformed(f"unexpected token: {text[position]!r}", position + 1)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position + 1))
        position = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


def _malformed(message: str, column: int) -> SoqlError:
    return SoqlError("MALFORMED_QUERY", f"{message} at column {column}")


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.depth = 0  # parentheses and NOTs open around the current factor

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.current
        self.index += 1
        return token

    def accept(self, *keywords: str) -> bool:
        """Consume `keywords` if they come next, in order (ORDER BY, NOT IN)."""
        ahead = self.tokens[self.index : self.index + len(keywords)]
        if [t.keyword for t in ahead] != list(keywords):
            return False
        self.index += len(keywords)
        return True

    def expect(self, keyword: str) -> None:
        if not self.accept(keyword):
            self.fail(f"expected {keyword}")

    def expect_punct(self, text: str) -> None:
        if self.current.text != text:
            self.fail(f"expected {text!r}")
        self.index += 1

    def fail(self, expected: str) -> NoReturn:
        token = self.current
        if token.keyword in _UNSUPPORTED:
            raise _malformed(
                f"{token.keyword} is not in the sandbox's SOQL subset (see sandbox/soql.py)",
                token.column,
            )
        found = "end of query" if token.kind == "end" else repr(token.text)
        raise _malformed(f"unexpected token: {found}; {expected}", token.column)

    def field(self) -> str:
        token = self.current
        if token.kind != "word" or token.keyword in _KEYWORDS | _UNSUPPORTED:
            self.fail("expected a field name")
        if "." in token.text:
            raise SoqlError(
                "INVALID_FIELD",
                f"relationship field {token.text!r}: the sandbox's SOQL subset has no "
                "relationship queries",
            )
        self.index += 1
        return token.text

    def query(self) -> Query:
        self.expect("SELECT")
        fields = [self.field()]
        while self.current.text == ",":
            self.index += 1
            fields.append(self.field())
        self.expect("FROM")
        sobject = self.field()
        where = self.condition() if self.accept("WHERE") else None
        order: list[Ordering] = []
        if self.accept("ORDER", "BY"):
            order.append(self.ordering())
            while self.current.text == ",":
                self.index += 1
                order.append(self.ordering())
        limit = self.limit() if self.accept("LIMIT") else None
        if self.current.kind != "end":
            self.fail("expected WHERE, ORDER BY, LIMIT or the end of the query")
        return Query(tuple(fields), sobject, where, tuple(order), limit)

    def limit(self) -> int:
        token = self.take()
        if token.kind != "number" or not token.text.isdigit():
            self.index -= 1
            self.fail("LIMIT takes a whole number")
        return int(token.text)

    def ordering(self) -> Ordering:
        name = self.field()
        descending = self.accept("DESC")
        if not descending:
            self.accept("ASC")
        nulls_last = descending
        if self.accept("NULLS"):
            if self.accept("FIRST"):
                nulls_last = False
            elif self.accept("LAST"):
                nulls_last = True
            else:
                self.fail("expected FIRST or LAST")
        return Ordering(name, descending, nulls_last)

    def condition(self) -> Condition:
        parts = [self.conjunct()]
        while self.accept("OR"):
            parts.append(self.conjunct())
        return parts[0] if len(parts) == 1 else Junction("OR", tuple(parts))

    def conjunct(self) -> Condition:
        parts = [self.factor()]
        while self.accept("AND"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else Junction("AND", tuple(parts))

    def factor(self) -> Condition:
        if self.current.keyword == "NOT" or self.current.text == "(":
            return self.nested()
        name = self.field()
        if self.accept("IN"):
            return Membership(name, self.value_list(), negated=False)
        if self.accept("NOT", "IN"):
            return Membership(name, self.value_list(), negated=True)
        token = self.current
        if token.kind != "operator":
            self.fail("expected a comparison operator or IN")
        self.index += 1
        operator = "!=" if token.text == "<>" else token.text
        return Comparison(name, operator, self.value())

    def nested(self) -> Condition:
        """`NOT factor` or `( condition )`, refused past `MAX_NESTING` levels: each level is
        a recursion, and a query is a request anyone can send."""
        column = self.current.column
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _malformed(f"filters nested more than {MAX_NESTING} levels deep", column)
        if self.accept("NOT"):
            found: Condition = Negation(self.factor())
        else:
            self.index += 1
            found = self.condition()
            self.expect_punct(")")
        self.depth -= 1
        return found

    def value_list(self) -> tuple[Value, ...]:
        self.expect_punct("(")
        values = [self.value()]
        while self.current.text == ",":
            self.index += 1
            values.append(self.value())
        self.expect_punct(")")
        return tuple(values)

    def value(self) -> Value:
        token = self.current
        try:
            literal = _literal(token)
        except ValueError:  # looks like a date but is none ("2026-02-31")
            raise _malformed(f"invalid literal: {token.text}", token.column) from None
        if literal is None:
            self.fail("expected a value")
        self.index += 1
        return literal


def _literal(token: _Token) -> Value | None:
    text = token.text
    if token.kind == "string":
        return Value(
            "string", re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), text[1:-1]), text
        )
    if token.kind == "number":
        return Value("number", float(text) if "." in text else int(text), text)
    if token.kind == "date":
        return Value("date", date.fromisoformat(text), text)
    if token.kind == "datetime":
        stamp = datetime.fromisoformat(text)
        return Value("datetime", stamp.astimezone(UTC), text)
    constants: dict[str, Value] = {
        "NULL": Value("null", None, text),
        "TRUE": Value("boolean", True, text),
        "FALSE": Value("boolean", False, text),
    }
    return constants.get(token.keyword)


def parse(text: str) -> Query:
    """Parse `text` as a query of the subset above; raise SoqlError(MALFORMED_QUERY) otherwise."""
    return _Parser(text).query()


# ---- binding: names and types against one object ----------------------------------------------


def bind(query: Query, schema: Schema) -> Query:
    """Return `query` with canonical field names; raise INVALID_FIELD for unknown or mistyped."""
    names = {name.lower(): name for name in schema}

    def canonical(name: str) -> str:
        found = names.get(name.lower())
        if found is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{query.sobject}'. If you are attempting to "
                "use a custom field, be sure to append the '__c' after the custom field name.",
            )
        return found

    fields = tuple(canonical(f) for f in query.fields)
    duplicates = sorted({f for f in fields if fields.count(f) > 1})
    if duplicates:
        raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {duplicates[0]}")
    where = _bind_condition(query.where, canonical, schema) if query.where else None
    order = tuple(replace(o, field=canonical(o.field)) for o in query.order_by)
    return Query(fields, query.sobject, where, order, query.limit)


def _bind_condition(
    condition: Condition, canonical: Callable[[str], str], schema: Schema
) -> Condition:
    if isinstance(condition, Junction):
        return Junction(
            condition.operator,
            tuple(_bind_condition(p, canonical, schema) for p in condition.parts),
        )
    if isinstance(condition, Negation):
        return Negation(_bind_condition(condition.part, canonical, schema))
    name = canonical(condition.field)
    if isinstance(condition, Membership):
        for value in condition.values:
            _check_type(name, schema[name], value, "IN")
        return replace(condition, field=name)
    _check_type(name, schema[name], condition.value, condition.operator)
    return replace(condition, field=name)


def _check_type(name: str, field_type: FieldType, value: Value, operator: str) -> None:
    if value.kind == "null":
        if operator in {"=", "!="}:
            return
        raise SoqlError("INVALID_FIELD", f"{name}: NULL can only be compared with = or !=")
    if value.kind not in _ACCEPTS[field_type]:
        quoted = " and should not be enclosed in quotes" if value.kind == "string" else ""
        raise SoqlError(
            "INVALID_FIELD",
            f"value of filter criterion for field '{name}' must be of type {field_type}{quoted}",
        )


def pinned_values(condition: Condition | None, name: str) -> list[object] | None:
    """The values an AND-ed top-level `name = v` or `name IN (...)` allows; None: not pinned."""
    if isinstance(condition, Junction) and condition.operator == "AND":
        found = (pinned_values(part, name) for part in condition.parts)
        return next((values for values in found if values is not None), None)
    values: list[object] | None = None
    if isinstance(condition, Comparison) and condition.operator == "=":
        values = [condition.value.value] if condition.field == name else None
    elif isinstance(condition, Membership) and not condition.negated and condition.field == name:
        values = [v.value for v in condition.values]
    # `= NULL` matches rows no lookup by value finds.
    return None if values is None or None in values else values


# ---- evaluation -------------------------------------------------------------------------------


def run(query: Query, rows: Iterable[Row], schema: Schema) -> list[Row]:
    """Filter, order and limit `rows` for a bound query (the caller picks `query.fields`)."""
    where = query.where
    selected: list[Row] = [r for r in rows if where is None or where.matches(r, schema)]
    for ordering in reversed(query.order_by):  # stable sorts, last key first
        selected = _ordered(selected, ordering, schema[ordering.field])
    return selected if query.limit is None else selected[: query.limit]


def _ordered(rows: list[Row], ordering: Ordering, field_type: FieldType) -> list[Row]:
    name = ordering.field
    present = [r for r in rows if r.get(name) is not None]
    missing = [r for r in rows if r.get(name) is None]
    present.sort(key=lambda r: _sort_key(r[name], field_type), reverse=ordering.descending)
    return present + missing if ordering.nulls_last else missing + present


def _sort_key(value: object, field_type: FieldType) -> Any:
    if field_type in _TEXT and field_type not in _EXACT and isinstance(value, str):
        return value.casefold()
    return value


def _compare(op: str, left: object, right: object, field_type: FieldType) -> bool:
    if right is None:
        return (left is None) == (op == "=")
    if left is None:
        return op == "!="
    return bool(_OPERATORS[op](_sort_key(left, field_type), _sort_key(right, field_type)))


_OPERATORS: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
