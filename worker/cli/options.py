"""Options several commands share, declared once so their names and help never drift."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Final

import typer

from worker.cli.terminal import err
from worker.console import ExitCode, fail

SOURCE_HELP: Final = (
    "Where the org comes from: csv:DIR reads DIR/companies.csv, DIR/owners.csv and "
    "optional DIR/activities.csv (see docs/csv-format.md); hubspot or salesforce reads the "
    "CRM that the TERRITORY_* settings point at (see docs/settings.md)."
)

SourceOption = Annotated[
    str | None,
    typer.Option("--source", help=SOURCE_HELP, metavar="SOURCE", show_default=False),
]
RequiredSourceOption = Annotated[
    str,
    typer.Option("--source", help=SOURCE_HELP, metavar="SOURCE", show_default=False),
]
RulesOption = Annotated[
    Path,
    typer.Option("--rules", help="The rule file (YAML).", metavar="FILE", show_default=False),
]
StrictOption = Annotated[
    bool,
    typer.Option(
        "--strict", help="Refuse the run on any bad row or warning instead of skipping it."
    ),
]
DateFormatOption = Annotated[
    str | None,
    typer.Option(
        "--date-format",
        help="strptime format of dates in CRM export files, e.g. '%m/%d/%Y %H:%M'.",
        metavar="FORMAT",
    ),
]
TimezoneOption = Annotated[
    str | None,
    typer.Option(
        "--timezone",
        help="IANA zone of naive datetimes in export files, e.g. Europe/Berlin.",
        metavar="ZONE",
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Plan as of this day, YYYY-MM-DD from 1900-01-01 to 2999-12-31; default: today "
        "in UTC.",
        metavar="DATE",
        show_default=False,
    ),
]

# ASCII digits only: `date.fromisoformat` also takes 20270104, 2027-W01-1 and other digits.
_DAY_PATTERN: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# Rule day counts (notice, recency, ramps) are added to and taken from the day; this range
# keeps every such date inside the calendar Python can hold (years 1 to 9999).
FIRST_DAY: Final = date(1900, 1, 1)
LAST_DAY: Final = date(2999, 12, 31)


def parse_as_of(value: str | None) -> date:
    """The --as-of day, or exit 2 saying what is wrong; the CLI reads the clock here so the
    engine never does."""
    if value is None:
        return datetime.now(UTC).date()
    return parse_day(value, "--as-of")


def parse_day(value: str, option: str) -> date:
    """A day YYYY-MM-DD given to `option`, or exit 2 saying what is wrong."""
    match = _DAY_PATTERN.fullmatch(value)
    if match is None:
        fail(
            err,
            f"{option}: expected a date YYYY-MM-DD such as 2027-01-04, got {value!r}",
            ExitCode.INVALID,
        )
    year, month, day = (int(part) for part in match.groups())
    if not 1 <= month <= 12:
        fail(err, f"{option} {value}: there is no month {month:02d}", ExitCode.INVALID)
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        fail(
            err,
            f"{option} {value}: plans are made for days from {FIRST_DAY} to {LAST_DAY}",
            ExitCode.INVALID,
        )
    days_in_month = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days_in_month:
        fail(
            err,
            f"{option} {value}: {calendar.month_name[month]} {year} has days 01 to {days_in_month}",
            ExitCode.INVALID,
        )
    return date(year, month, day)
