"""Streaming one CSV file: its header, then numbered data rows of the header's width."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final, TextIO

from connectors.files.headers import header_key
from connectors.files.issues import CsvLoadError, IssueLog, RowIssue
from connectors.files.lines import LineSource
from connectors.files.quoting import broken_record_message, swallows_rows

# How many rows pass between two progress reports: often enough for a bar, rare enough to
# cost nothing per row.
PROGRESS_EVERY: Final = 50_000
# Lines of whole records are forgotten every 4096 rows (a mask: 4096 is a power of two).
_RELEASE_MASK: Final = 4096 - 1

Progress = Callable[[int], None]


class CsvTable:
    """An open CSV file: `headers`, then `rows()` once; counts rows read and skipped."""

    def __init__(
        self, path: Path, handle: TextIO, log: IssueLog, progress: Progress | None
    ) -> None:
        self.file = path.name
        self.read = 0
        self.skipped = 0
        self._path = path
        self._log = log
        self._progress = progress
        self._source = LineSource(_bounded_lines(handle, path.name))
        self.headers: list[str] = self._header_row()

    def _header_row(self) -> list[str]:
        reader = self._source.reader
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise CsvLoadError(f"{self.file}: row 1: cannot read the header: {exc}") from None
        except UnicodeDecodeError:
            raise not_utf8(self._path) from None
        if not header or not any(h.strip() for h in header):
            raise CsvLoadError(f"{self.file}: the file is empty; expected a header row first")
        if reader.line_num > 1:
            raise CsvLoadError(
                f"{self.file}: row 1: the header runs over lines 1-{reader.line_num}; a quote "
                "in it is not closed"
            )
        headers = [h.strip() for h in header]
        _refuse_duplicate_headers(self.file, headers)
        return headers

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Yield (row number, cells) for each data row; the header is row 1.

        Each yielded row carries one extra "" cell at the end, so a field the file lacks can
        use column index -1 and read as empty without a branch per cell. A row whose width
        differs from the header's is reported and skipped; blank lines are passed over. A
        broken record (see connectors.files.quoting) is reported on its first line and
        skipped, and the lines after that are read again as rows.
        """
        width = len(self.headers)
        source = self._source
        reader = source.reader
        last = reader.line_num  # the reader's line that ended the previous record
        row_number = 1
        unreported = 0
        while True:
            try:
                # A for loop, not next() per row: the csv.Error of a broken record ends it,
                # and the loop starts again over the reader that reads the lines after it.
                for row in reader:
                    row_number += 1
                    line = reader.line_num
                    if line != last + 1 and not self._whole(row_number, row, last + 1, line):
                        break
                    last = line
                    if row_number & _RELEASE_MASK == 0:
                        source.release(last)
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
                else:
                    break
            except csv.Error as exc:
                row_number += 1
                self._broken(row_number, last + 1, reader.line_num, str(exc))
            except UnicodeDecodeError:
                raise not_utf8(self._path) from None
            reader, last = source.reader, 0
        if unreported and self._progress is not None:
            self._progress(unreported)

    def _whole(self, row_number: int, row: list[str], first: int, last: int) -> bool:
        """Whether a record over several lines is whole; if not, report it and read again."""
        width = len(self.headers)
        if len(row) == width and not swallows_rows(row, width):
            return True
        lines = self._source.take(first, last)
        self._report_broken(row_number, lines, first, None, swallowed_rows=len(row) == width)
        return False

    def _broken(self, row_number: int, first: int, last: int, csv_error: str) -> None:
        lines = self._source.take(first, last)
        self._report_broken(row_number, lines, first, csv_error, swallowed_rows=False)

    def _report_broken(
        self,
        row_number: int,
        lines: list[str],
        first: int,
        csv_error: str | None,
        *,
        swallowed_rows: bool,
    ) -> None:
        source = self._source
        column, message = broken_record_message(
            lines, source.offset + first, csv_error, swallowed_rows=swallowed_rows
        )
        header = self.headers[column] if column is not None and column < len(self.headers) else None
        self._log.report_error(self.file, row_number, header, message)
        self.read += 1
        self.skipped += 1
        source.read_again(lines, first)


def _refuse_duplicate_headers(file: str, headers: Sequence[str]) -> None:
    """Raise CsvLoadError naming every pair of columns whose headers compare equal."""
    first: dict[str, int] = {}
    issues: list[RowIssue] = []
    for i, header in enumerate(headers):
        key = header_key(header)
        if not key:
            continue  # unnamed columns (a trailing comma in Excel's exports) are ignored
        if key in first:
            j = first[key]
            issues.append(
                RowIssue(
                    file,
                    1,
                    header,
                    f"column {i + 1} {header!r} repeats column {j + 1} {headers[j]!r} "
                    "(headers compare ignoring case, '_' and spaces)",
                )
            )
        else:
            first[key] = i
    if issues:
        raise CsvLoadError(
            f"{file}: {len(issues)} duplicate column header(s); rename or remove one of each "
            "pair, nothing was loaded",
            issues,
        )


def refuse_rival_columns(
    file: str, rivals: Sequence[tuple[str, Sequence[str]]], *, choose: str = ""
) -> None:
    """Raise CsvLoadError when a field has more than one column: which one is meant is a guess.

    `choose` says how else the user may settle it.
    """
    if not rivals:
        return
    issues = [
        RowIssue(
            file,
            1,
            headers[1],
            f"{len(headers)} columns hold {name}: {', '.join(map(repr, headers))}",
        )
        for name, headers in rivals
    ]
    raise CsvLoadError(
        f"{file}: {len(issues)} field(s) have more than one column; remove all but one{choose}; "
        "nothing was loaded",
        issues,
    )


def not_utf8(path: Path) -> CsvLoadError:
    """The error for a file that is not UTF-8, naming the line of its first bad byte."""
    with path.open("rb") as handle:
        if handle.read(2) in (b"\xff\xfe", b"\xfe\xff"):
            return CsvLoadError(
                f'{path.name}: the file is UTF-16 (as Excel\'s "Unicode Text" writes it), not '
                "UTF-8; export or save it as UTF-8 CSV"
            )
        handle.seek(0)
        for line_number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = line[exc.start]
                # Most files that are not UTF-8 are Windows-1252 (Excel's "CSV"): show the text
                # as it would read there, so the user recognises the cell.
                near = line[max(0, exc.start - 20) : exc.start + 20]
                shown = near.decode("cp1252", errors="replace").strip()
                return CsvLoadError(
                    f"{path.name}: line {line_number}: byte 0x{bad:02X} is not UTF-8 (near "
                    f"{shown!r} read as Windows-1252); export or save the file as UTF-8 CSV"
                )
    return CsvLoadError(f"{path.name}: not UTF-8 text; export or save the file as UTF-8 CSV")


@contextmanager
def open_table(path: Path, log: IssueLog, progress: Progress | None) -> Iterator[CsvTable]:
    """Open `path` as UTF-8 CSV (a byte-order mark is ignored) and read its header."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise CsvLoadError(f"{path}: cannot open: {exc.strerror}") from None
    with handle:
        yield CsvTable(path, handle, log, progress)


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


# A line no CRM export writes: beyond it, the csv module's list of cells alone would take
# gigabytes (200 MB of commas is 200 million cells). The longest cell it reads is 131,072.
MAX_LINE_CHARS: Final = 4 * 1024 * 1024


def _bounded_lines(handle: TextIO, file: str) -> Iterator[str]:
    """The lines of `handle`; CsvLoadError naming the line when one is absurdly long."""
    for number, line in enumerate(handle, start=1):
        if len(line) > MAX_LINE_CHARS:
            raise CsvLoadError(
                f"{file}: line {number} is {len(line):,} characters long; expected CSV rows "
                f"of at most {MAX_LINE_CHARS:,} characters (is this a CSV export?); nothing "
                "was loaded"
            )
        yield line
