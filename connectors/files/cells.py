"""Parsing one CSV cell: numbers as exports write them, booleans, domains, dates and times.

Parsers take a stripped, non-empty cell and return a value or raise ValueError whose message
says what was expected and what was found; the caller adds file, row and column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# "1,200", "$1,200,000.00", "USD 1,200.50", "1200 EUR": an optional currency code or symbol,
# thousands separators only in groups of three (so "1,5" is refused, not read as 15). Digits
# are ASCII: `\d` would also take full-width digits and other scripts', as int() and float()
# would, and no export writes a number that way.
_EXPORT_NUMBER = re.compile(
    r"^(?:[A-Z]{3}\s*)?[$€£¥]?\s*([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(\.[0-9]+)?\s*(?:[A-Z]{3})?$"
)
# The largest values the CRMs' own fields hold: Salesforce's NumberOfEmployees is a number of
# 8 digits and AnnualRevenue a currency of 18. Anything larger is a broken cell, and a count
# beyond 64 bits cannot even be written to a plan.
MAX_EMPLOYEES: Final = 99_999_999
AMOUNT_LIMIT: Final = 1e18
_BOOLEANS: Final = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
}


def whole_number(raw: str) -> int:
    """Return a count of 0 to MAX_EMPLOYEES written as "1200", "1,200" or "1200.00"."""
    value = int(raw) if raw.isdecimal() and raw.isascii() else _whole_export_number(raw)
    if value > MAX_EMPLOYEES:
        raise ValueError(f"expected a whole number up to {MAX_EMPLOYEES:,}, got {raw!r}")
    return value


def _whole_export_number(raw: str) -> int:
    # Exports write "1,200": match them before int(), whose failure costs an exception per row.
    match = _EXPORT_NUMBER.match(raw)
    if match is not None:
        if match.group(2) and match.group(2).strip(".0"):
            raise ValueError(f"expected a whole number, got {raw!r}")
        return int(match.group(1).replace(",", ""))
    if not raw.isascii():  # int() reads full-width and other scripts' digits
        raise ValueError(f"expected a whole number in ASCII digits, got {raw!r}")
    if "_" in raw:  # int() reads "1_0" as ten; no export writes digit separators so
        raise ValueError(f"expected a whole number, got {raw!r}")
    try:
        value = int(raw)  # what is left: a sign
    except ValueError:
        raise ValueError(f"expected a whole number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"expected a whole number of 0 or more, got {raw!r}")
    return value


def amount(raw: str) -> float:
    """Return an amount of 0 or more, below AMOUNT_LIMIT, written as "1200.5" or "$1,200.00"."""
    value = _plain_float(raw) if raw[0].isdigit() and "," not in raw else None
    if value is None:
        match = _EXPORT_NUMBER.match(raw)
        # What the pattern leaves to float(): a sign, an exponent, "nan", "inf".
        value = _plain_float(raw) if match is None else float(_digits(match))
    # float() also reads "nan" and "inf", which no revenue is; "1e400" reads as inf too.
    if value is None or math.isnan(value) or (math.isinf(value) and raw.lstrip("+-").isalpha()):
        raise ValueError(f"expected an amount such as 1200000 or 1,200,000.00, got {raw!r}")
    if value < 0:
        raise ValueError(f"expected an amount of 0 or more, got {raw!r}")
    if value >= AMOUNT_LIMIT:
        raise ValueError(f"expected an amount below {AMOUNT_LIMIT:,.0f}, got {raw!r}")
    return value + 0.0  # "-0" reads as -0.0; a plan should say 0.0


def _plain_float(raw: str) -> float | None:
    # float() reads full-width and other scripts' digits, and "1_0" as ten: only ASCII text
    # without digit separators is a number here.
    if not raw.isascii() or "_" in raw:
        return None
    try:
        return float(raw)
    except ValueError:
        return None


def _digits(match: re.Match[str]) -> str:
    return match.group(1).replace(",", "") + (match.group(2) or "")


def boolean(raw: str) -> bool:
    """Return true/false from true/false, 1/0 or yes/no (any case)."""
    value = _BOOLEANS.get(raw.lower())
    if value is None:
        raise ValueError(f"expected true or false (or 1/0, yes/no), got {raw!r}")
    return value


def domain(raw: str) -> str | None:
    """Return the bare host of a domain or URL: "https://www.Acme.com/about" -> "acme.com"."""
    text = raw.lower()
    if "/" in text or ":" in text or "@" in text or "?" in text or "#" in text:
        _, scheme, rest = text.partition("://")
        if scheme:
            text = rest
        for separator in "/?#":
            text = text.partition(separator)[0]
        # A user part ("user@host") or a port ("host:8080") is not part of the domain.
        text = text.rpartition("@")[2].partition(":")[0].strip()
    return text.rstrip(".").removeprefix("www.") or None


class DateReader:
    """Reads dates and times in ISO 8601, or in a given strptime format; naive ones in a zone."""

    def __init__(self, date_format: str | None = None, timezone: str | None = None) -> None:
        """Raise ValueError naming the problem when `date_format` is not a strptime format
        or `timezone` is not an IANA zone name."""
        if date_format:
            _check_format(date_format)
        self.date_format = date_format
        self.zone: tzinfo = UTC
        if timezone:
            try:
                self.zone = ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"unknown timezone {timezone!r}; expected an IANA name such as "
                    "Europe/Berlin or America/New_York"
                ) from None
        self._formatted: Callable[[str], datetime | None] = _formatted_reader(date_format)
        self._expected = (
            f"a date and time in the format {date_format!r} or ISO 8601"
            if date_format
            else "an ISO 8601 date or date and time such as 2024-05-01 or 2024-05-01T09:30:00Z"
        )
        # Return the moment `raw` names as an aware UTC datetime; a bare date is its midnight.
        # Formatted exports repeat the same local times on many rows, and strptime plus a zone
        # conversion cost microseconds: memoise them (and share one datetime per value).
        self.instant: Callable[[str], datetime] = (
            lru_cache(maxsize=65536)(self._instant) if date_format else self._instant
        )

    def _instant(self, raw: str) -> datetime:
        parsed = self._parse(raw)
        zone = parsed.tzinfo
        if zone is None:
            parsed = parsed.replace(tzinfo=self.zone)
        elif zone is UTC:
            return parsed
        return _in_utc(parsed, raw)

    def day(self, raw: str) -> date:
        """Return the calendar date of `raw` as written; one with an offset is taken in UTC."""
        parsed = self._parse(raw)
        if parsed.tzinfo is None:
            return parsed.date()
        return _in_utc(parsed, raw).date()

    def _parse(self, raw: str) -> datetime:
        parsed = self._formatted(raw) if self.date_format else None
        if parsed is None:
            try:
                parsed = datetime.fromisoformat(raw)
            except ValueError:
                raise ValueError(f"expected {self._expected}, got {raw!r}") from None
        return parsed


def _in_utc(moment: datetime, raw: str) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it
        raise ValueError(
            f"expected a date and time between years 1 and 9999 in UTC, got {raw!r}"
        ) from None


def _check_format(date_format: str) -> None:
    """Raise ValueError unless `date_format` is a strptime format with at least one directive."""
    expected = "expected a strptime format such as '%m/%d/%Y %H:%M'"
    if "%" not in date_format.replace("%%", ""):
        raise ValueError(f"date format {date_format!r}: no % directive; {expected}")
    try:
        datetime.strptime("", date_format)  # noqa: DTZ007 - only the format is checked
    except ValueError as exc:
        # "time data '' does not match format" means the format itself compiled.
        if not str(exc).startswith("time data"):
            raise ValueError(f"date format {date_format!r}: {exc}; {expected}") from None


def _formatted_reader(date_format: str | None) -> Callable[[str], datetime | None]:
    """A strptime for `date_format` and for its date part alone; None when neither fits.

    The date part lets a date-only column ("05/01/2024") share a date-and-time format
    ("%m/%d/%Y %H:%M").
    """
    formats: tuple[str, ...] = ()
    if date_format:
        date_part = date_format.split(" ")[0]
        formats = (date_format, date_part) if date_part != date_format else (date_format,)

    def read(raw: str) -> datetime | None:
        for candidate in formats:
            try:
                # Naive on purpose: the zone is applied by DateReader.instant.
                return datetime.strptime(raw, candidate)  # noqa: DTZ007 - the zone comes next
            except ValueError:
                continue
        return None

    return read
