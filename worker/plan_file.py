"""plan.json on disk: the byte-stable layout, atomic writes, reading a stored plan back.

Layout: one top-level key per line, and one line per element of the long lists (assignments,
changes, reps, teams). That keeps a million-account plan greppable and `diff`-able line by line
while staying plain JSON; compact separators keep it about as small as `indent=None`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import orjson

# Top-level keys every plan document has (docs/plan-format.md); a file without them is no plan.
REQUIRED_KEYS = ("as_of", "rule", "tier_cutoffs", "summary", "assignments", "changes", "reps")


class PlanFileError(Exception):
    """A stored plan could not be read; the message names the file and the problem."""


def _compact(value: Any) -> str:
    # orjson: the same compact, key-ordered, UTF-8 JSON as json.dumps(separators=(",", ":"),
    # ensure_ascii=False), about five times faster on a million rows. Floats are shortest
    # round-trip reprs in both; the engine rounds every reported float to 6 places first.
    return orjson.dumps(value).decode("utf-8")


def plan_json_chunks(document: dict[str, Any]) -> Iterator[str]:
    """Yield the text of `document` in the plan.json layout, ending with a newline.

    Same document, same bytes: key order is the document's insertion order, which
    `rules.plan.plan_document` fixes; floats are already rounded there.
    """
    yield "{"
    for position, (key, value) in enumerate(document.items()):
        yield ("\n" if position == 0 else ",\n") + _compact(key) + ":"
        if isinstance(value, Sequence) and not isinstance(value, str):
            # Any sequence, the engine's lazy rows included, is a JSON list; an empty one `[]`.
            yield "[\n" if value else "[]"
            last = len(value) - 1
            for i, item in enumerate(value):
                yield _compact(item) + (",\n" if i < last else "\n]")
        else:
            yield _compact(value)
    yield "\n}\n"


def write_plan_stream(document: dict[str, Any], stream: IO[str]) -> None:
    """Write `document` to an open text stream in the plan.json layout."""
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
        with temporary.open("x", encoding="utf-8", newline="\n") as stream:
            write_plan_stream(document, stream)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def read_plan_file(path: Path) -> dict[str, Any]:
    """Return the plan document stored at `path`, or raise PlanFileError saying what is wrong."""
    try:
        with path.open(encoding="utf-8") as stream:
            document = json.load(stream)
    except FileNotFoundError:
        raise PlanFileError(f"{path}: no such plan file") from None
    except IsADirectoryError:
        raise PlanFileError(f"{path}: is a directory; expected a plan.json file") from None
    except UnicodeDecodeError as exc:
        raise PlanFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise PlanFileError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); "
            "expected a plan written by `territory plan --out`"
        ) from None
    except OSError as exc:
        raise PlanFileError(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(document, dict):
        raise PlanFileError(f"{path}: expected a JSON object (a plan document)")
    missing = [key for key in REQUIRED_KEYS if key not in document]
    if missing:
        raise PlanFileError(
            f"{path}: not a plan document: missing {', '.join(missing)} (see docs/plan-format.md)"
        )
    return document


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
