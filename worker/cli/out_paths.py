"""Where an `--out` may write: a new path or a regular file, never the command's own input.

Writers replace their target atomically (a sibling temporary file renamed over it), so no
byte ever goes through a link; these checks refuse, before any work is done, targets a user
cannot mean: a symbolic link, a FIFO, a device or socket, and the files the command reads.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from worker.ledger import Ledger

CSV_SOURCE_PREFIX: Final = "csv:"

_KINDS: Final = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class OutPathError(Exception):
    """An `--out` target the command refuses; the message names it and says why."""


@dataclass(frozen=True, slots=True)
class CommandInput:
    """A file the command reads, and how to name it in an error."""

    path: Path
    what: str


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    return next((name for test, name in _KINDS if test(mode)), None)


def _status(path: Path) -> os.stat_result | None:
    """`path`'s own status (a link is not followed); None when nothing is there."""
    try:
        return path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutPathError(f"{path}: cannot check the --out path: {exc.strerror}") from None


def check_out_file(path: Path, inputs: Iterable[CommandInput]) -> None:
    """Raise OutPathError unless `path` is new or a regular file that is none of `inputs`."""
    inputs = list(inputs)
    status = _status(path)
    if status is None:
        if not path.parent.is_dir():
            raise OutPathError(f"{path}: no directory {path.parent} to write it into")
        # An input may be absent between commands (SQLite's journal, the worker's lock) and
        # still be read when it appears: refuse it by name.
        for read in inputs:
            if path.resolve() == read.path.resolve():
                raise OutPathError(_destroys(path, read))
        return
    kind = _kind(status.st_mode)
    if kind == "a directory":
        raise OutPathError(f"{path}: is a directory; give a file path such as {path / 'plan.json'}")
    if kind is not None:
        raise OutPathError(
            f"{path}: is {kind}; --out only replaces a regular file and never writes through "
            "a link, pipe or device: choose another path"
        )
    for read in inputs:
        try:
            same = os.path.samestat(status, read.path.stat())
        except OSError:
            continue
        if same:
            raise OutPathError(_destroys(path, read))


def _destroys(path: Path, read: CommandInput) -> str:
    return (
        f"{path}: is {read.what} this command reads; writing there would destroy it: "
        "choose another path"
    )


def check_out_directory(path: Path, *, force: bool, names: Iterable[str] = ()) -> None:
    """Raise OutPathError unless `path` is new, an empty directory, or (`force`) a directory
    where each of `names`, the files the command writes, is absent or a regular file."""
    status = _status(path)
    if status is None:
        return
    kind = _kind(status.st_mode)
    if kind is None:
        raise OutPathError(f"{path}: is a file; --out names the directory to write the org into")
    if kind != "a directory":
        raise OutPathError(
            f"{path}: is {kind}; --out names a directory and never writes through a link: "
            "choose another path"
        )
    if force:
        for name in names:
            _refuse_non_regular(path / name)
        return
    try:
        entries = sum(1 for _ in path.iterdir())
    except OSError as exc:
        raise OutPathError(f"{path}: cannot list the directory: {exc.strerror}") from None
    if entries:
        raise OutPathError(
            f"{path}: is not empty ({entries:,} entries); choose a new or empty directory, or "
            "pass --force to overwrite the sample's files in it"
        )


def _refuse_non_regular(path: Path) -> None:
    """Raise OutPathError when something other than a regular file stands at `path`."""
    status = _status(path)
    kind = None if status is None else _kind(status.st_mode)
    if kind is not None:
        raise OutPathError(
            f"{path}: is {kind}; --force replaces only regular files and never writes through "
            "a link, pipe or device: move it away or choose another directory"
        )


def ledger_inputs(ledger: Ledger) -> list[CommandInput]:
    """The files an embedded (SQLite) ledger lives in: the database and its journal files."""
    database = ledger.engine.url.database if ledger.is_sqlite else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return []
    # Imported here: the ledger pulls in SQLAlchemy, which other commands never need.
    from worker.ledger.database import worker_lock_path

    path = Path(database)
    lock = worker_lock_path(database)
    return [
        *(
            CommandInput(Path(f"{path}{suffix}"), f"the ledger's database ({path.name}{suffix})")
            for suffix in ("", "-wal", "-shm", "-journal")
        ),
        CommandInput(lock, f"the ledger's worker lock ({lock.name})"),
    ]


def source_inputs(spec: str) -> list[CommandInput]:
    """The files a `--source` spec reads: for csv:DIR, every CSV file in DIR."""
    if not spec.startswith(CSV_SOURCE_PREFIX):
        return []
    directory = Path(spec.removeprefix(CSV_SOURCE_PREFIX))
    try:
        files = [p for p in directory.iterdir() if p.suffix.lower() == ".csv"]
    except OSError:
        return []  # the source loader reports a missing or unreadable directory itself
    return [CommandInput(p, f"{p.name}, a file of --source {spec}") for p in sorted(files)]
