"""Streaming one CSV file: its header, then numbered data rows of the header's width."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final, TextIO

from connectors.files.issues import CsvLoadError, IssueLog

# How many rows pass between two progress reports: often enough for a bar, rare enough to
# cost nothing per row.
PROGRESS_EVERY: Final = 50_000

Progress = Callable[[int], None]
_NOT_UTF8 = "not UTF-8 text; export or save the file as UTF-8 CSV"


class CsvTable:
    """An open CSV file: `headers`, then `rows()` once; counts rows read and skipped."""

    def __init__(self, file: str, handle: TextIO, log: IssueLog, progress: Progress | None) -> None:
        self.file = file
        self.read = 0
        self.skipped = 0
        self._log = log
        self._progress = progress
        self._reader = csv.reader(handle)
        self.headers: list[str] = self._header_row()

    def _header_row(self) -> list[str]:
        try:
            header = next(self._reader, None)
        except csv.Error as exc:
            raise CsvLoadError(f"{self.file}: row 1: cannot read the header: {exc}") from None
        except UnicodeDecodeError:
            # The first block of the file is decoded at once: the bad byte may be on any row.
            raise CsvLoadError(f"{self.file}: {_NOT_UTF8}") from None
        if not header or not any(h.strip() for h in header):
            raise CsvLoadError(f"{self.file}: the file is empty; expected a header row first")
        return [h.strip() for h in header]

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Yield (row number, cells) for each data row; the header is row 1.

        Each yielded row carries one extra "" cell at the end, so a field the file lacks can
        use column index -1 and read as empty without a branch per cell. A row whose width
        differs from the header's is reported and skipped; blank lines are passed over.
        """
        width = len(self.headers)
        row_number = 1
        unreported = 0
        try:
            for row in self._reader:
                row_number += 1
                if len(row) != width:
                    if not row:
                        continue
                    self.read += 1
                    self.skipped += 1
                    self._log.report_error(
                        self.file,
                        row_number,
                        None,
                        f"expected {width} fields as in the header, got {len(row)}",
                    )
                    continue
                self.read += 1
                unreported += 1
                if unreported == PROGRESS_EVERY and self._progress is not None:
                    self._progress(unreported)
                    unreported = 0
                row.append("")
                yield row_number, row
        except csv.Error as exc:
            raise CsvLoadError(
                f"{self.file}: row {row_number + 1}: cannot read CSV: {exc}"
            ) from None
        except UnicodeDecodeError:
            raise CsvLoadError(f"{self.file}: after row {row_number}: {_NOT_UTF8}") from None
        if unreported and self._progress is not None:
            self._progress(unreported)


@contextmanager
def open_table(path: Path, log: IssueLog, progress: Progress | None) -> Iterator[CsvTable]:
    """Open `path` as UTF-8 CSV (a byte-order mark is ignored) and read its header."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise CsvLoadError(f"{path}: cannot open: {exc.strerror}") from None
    with handle:
        yield CsvTable(path.name, handle, log, progress)


def require_columns(
    table: CsvTable, index: Mapping[str, int], required: Sequence[str], *, expected: str
) -> None:
    """Raise CsvLoadError naming the file, the header expected and the one found."""
    missing = [name for name in required if index[name] < 0]
    if missing:
        raise CsvLoadError(
            f"{table.file}: missing required column(s) {', '.join(missing)}; "
            f"expected a header such as: {expected}; found: {','.join(table.headers)}"
        )
