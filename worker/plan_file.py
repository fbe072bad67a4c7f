"""plan.json on disk: the byte-stable layout, its own digest, atomic writes, checked reads.

Layout: one top-level key per line, and one line per element of the long lists (assignments,
changes, reps, teams). That keeps a million-account plan greppable and `diff`-able line by line
while staying plain JSON; compact separators keep it about as small as `indent=None`.

The last key, `plan_sha256`, is the SHA-256 of every byte before its line. A reader that
finds it wrong knows the file was edited or damaged after `territory plan` wrote it, and
refuses to explain from it rather than explain it wrongly.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Final

import orjson

# Top-level keys every plan document has (docs/plan-format.md); a file without them is no plan.
REQUIRED_KEYS = ("as_of", "rule", "tier_cutoffs", "summary", "assignments", "changes", "reps")
DIGEST_KEY: Final = "plan_sha256"
_DIGEST_LINE: Final = b'"' + DIGEST_KEY.encode() + b'":"'
# A line that opens a top-level list, and the first key and value of a row in one.
_LIST_OPENING: Final = re.compile(r'"(\w+)":\[')
_ROW_KEY: Final = re.compile(r'\{"(\w+)":("(?:[^"\\]|\\.)*"|[^,}]*)')


class PlanFileError(Exception):
    """A stored plan could not be read; the message names the file and the problem."""


def _compact(value: Any) -> bytes:
    # orjson: the same compact, key-ordered, UTF-8 JSON as json.dumps(separators=(",", ":"),
    # ensure_ascii=False), about five times faster on a million rows. Floats are shortest
    # round-trip reprs in both; the engine rounds every reported float to 6 places first.
    return orjson.dumps(value)


def _document_chunks(document: dict[str, Any]) -> Iterator[bytes]:
    """The document's keys in the plan.json layout, up to the line of the digest."""
    yield b"{"
    items = [(key, value) for key, value in document.items() if key != DIGEST_KEY]
    for position, (key, value) in enumerate(items):
        yield (b"\n" if position == 0 else b",\n") + _compact(key) + b":"
        if isinstance(value, Sequence) and not isinstance(value, str):
            # Any sequence, the engine's lazy rows included, is a JSON list; an empty one `[]`.
            yield b"[\n" if value else b"[]"
            last = len(value) - 1
            for i, item in enumerate(value):
                yield _compact(item) + (b",\n" if i < last else b"\n]")
        else:
            yield _compact(value)
    yield b",\n"


def plan_json_chunks(document: dict[str, Any]) -> Iterator[bytes]:
    """Yield the bytes of `document` in the plan.json layout, ending with its digest line.

    Same document, same bytes: key order is the document's insertion order, which
    `rules.plan.plan_document` fixes; floats are already rounded there. A `plan_sha256` the
    document carries (one read back) is replaced by the digest of what is written.
    """
    digest = hashlib.sha256()
    for chunk in _document_chunks(document):
        digest.update(chunk)
        yield chunk
    yield _DIGEST_LINE + digest.hexdigest().encode() + b'"\n}\n'


def write_plan_stream(document: dict[str, Any], stream: IO[bytes]) -> None:
    """Write `document` to an open binary stream in the plan.json layout."""
    for chunk in plan_json_chunks(document):
        stream.write(chunk)


def write_plan_file(document: dict[str, Any], path: Path) -> None:
    """Write `document` to `path` atomically: readers see the old file or the whole new one.

    Raise OSError when the directory is not writable.
    """
    # A sibling temporary file (same file system, so the rename is atomic), created with the
    # user's umask like any other output; "x" refuses to reuse a leftover of a crashed run.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("xb") as stream:
            write_plan_stream(document, stream)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def read_plan_file(path: Path) -> dict[str, Any]:
    """Return the plan document stored at `path`, or raise PlanFileError saying what is wrong
    and where: the file, and the line and row when one is to blame."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise PlanFileError(f"{path}: is a directory; expected a plan.json file")
        # A FIFO would block until some writer came, and /dev/zero never ends.
        if not stat.S_ISREG(mode):
            raise PlanFileError(f"{path}: not a regular file; expected a plan.json file")
        data = path.read_bytes()
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such plan file") from None
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        where = _row_at(data[: exc.start].decode("utf-8", "replace"), line)
        raise PlanFileError(f"{path}:{line}: not UTF-8 text (byte {exc.start}){where}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})"
            f"{_row_at(text, exc.lineno)}; expected a plan written by `territory plan --out`"
        ) from None
    if not isinstance(document, dict):
        raise PlanFileError(f"{path}: expected a JSON object (a plan document)")
    missing = [key for key in REQUIRED_KEYS if key not in document]
    if missing:
        raise PlanFileError(
            f"{path}: not a plan document: missing {', '.join(missing)} (see docs/plan-format.md)"
        )
    _check_digest(path, data, document.get(DIGEST_KEY))
    return document


def _check_digest(path: Path, data: bytes, stored: object) -> None:
    """Raise PlanFileError unless `data` ends with the digest line of everything before it."""
    start = data.rfind(b"\n" + _DIGEST_LINE) + 1
    if not isinstance(stored, str) or start == 0:
        raise PlanFileError(
            f"{path}: has no {DIGEST_KEY} line, so it cannot be checked: it was edited, or "
            "written before plans carried their digest; re-run `territory plan --out`"
        )
    written = hashlib.sha256(data[:start]).hexdigest()
    closing = _DIGEST_LINE + stored.encode() + b'"\n}\n'
    if written != stored or data[start:] != closing:
        raise PlanFileError(
            f"{path}: was edited or damaged after `territory plan` wrote it (its bytes do not "
            f"match its {DIGEST_KEY}); explain reads a plan only as written: re-run "
            "`territory plan --out`"
        )


def _row_at(text: str, line: int) -> str:
    """' in assignments[12] (account_id "C013")' when 1-based `line` of `text` is a row of a
    top-level list in the plan.json layout; '' otherwise."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines) or not lines[line - 1].startswith("{"):
        return ""
    for index in range(line - 2, 0, -1):
        if lines[index].startswith("{"):
            continue
        opening = _LIST_OPENING.fullmatch(lines[index])
        if opening is None:
            return ""
        key = _ROW_KEY.match(lines[line - 1])
        named = f" ({key.group(1)} {key.group(2)})" if key else ""
        return f" in {opening.group(1)}[{line - index - 2}]{named}"
    return ""


def row_line(path: Path, list_key: str, field: str, value: str) -> int | None:
    """The 1-based line of the row of top-level list `list_key` whose first key `field` is
    `value` (plan.json layout), or None: for error messages that name the row."""
    opening = _compact(list_key) + b":["
    prefix = b"{" + _compact(field) + b":" + _compact(value) + b","
    inside = False
    try:
        with path.open("rb") as stream:
            for number, line in enumerate(stream, 1):
                if line.rstrip(b"\n") == opening:
                    inside = True
                elif inside and line.startswith(prefix):
                    return number
                elif inside and line.startswith(b'"'):
                    return None
    except OSError:
        return None
    return None


def find_by_account(rows: Sequence[dict[str, Any]], account_id: str) -> dict[str, Any] | None:
    """The row of `rows` (sorted by account_id, as in a plan) for `account_id`, or None."""
    low, high = 0, len(rows)
    while low < high:
        middle = (low + high) // 2
        if rows[middle]["account_id"] < account_id:
            low = middle + 1
        else:
            high = middle
    if low < len(rows) and rows[low]["account_id"] == account_id:
        return rows[low]
    return None
