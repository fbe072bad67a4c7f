"""Accounts as columns, so conditions over a million accounts are array operations.

Text fields become integer codes into a case-folded vocabulary (-1 = missing); numbers are
float64 with NaN for missing. Rows are in account-id order, the order every aggregation uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rules.domain import Account

Codes = npt.NDArray[np.int32]
Numbers = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass(slots=True)
class TextColumn:
    """Case-folded text values as codes into `vocabulary`; -1 where the value is missing."""

    codes: Codes
    vocabulary: list[str]
    index: dict[str, int]

    @classmethod
    def build(cls, values: Sequence[str | None]) -> TextColumn:
        index: dict[str, int] = {}
        codes = np.empty(len(values), dtype=np.int32)
        for i, value in enumerate(values):
            if value is None or value == "":
                codes[i] = -1
                continue
            folded = value.casefold()
            code = index.get(folded)
            if code is None:
                code = index[folded] = len(index)
            codes[i] = code
        return cls(codes=codes, vocabulary=list(index), index=index)

    def code_of(self, value: str) -> int:
        """Code of `value` (case-insensitive), or -2, which matches no row."""
        return self.index.get(value.casefold(), -2)

    def value_at(self, row: int) -> str | None:
        code = int(self.codes[row])
        return None if code < 0 else self.vocabulary[code]


@dataclass(slots=True)
class AccountColumns:
    """Columnar view of accounts sorted by id; `text` and `numbers` are keyed by field name."""

    ids: list[str]
    text: dict[str, TextColumn]
    numbers: dict[str, Numbers]

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, accounts: Sequence[Account], regions: dict[str, list[str]]) -> AccountColumns:
        """Columns for `accounts`, which must already be sorted by id."""
        country_region = {c.casefold(): r for r, codes in regions.items() for c in codes}
        n = len(accounts)
        employees = np.full(n, np.nan)
        revenue = np.full(n, np.nan)
        for i, account in enumerate(accounts):
            if account.employees is not None:
                employees[i] = account.employees
            if account.annual_revenue is not None:
                revenue[i] = account.annual_revenue
        countries = [a.country for a in accounts]
        text = {
            "name": TextColumn.build([a.name for a in accounts]),
            "domain": TextColumn.build([a.domain for a in accounts]),
            "industry": TextColumn.build([a.industry for a in accounts]),
            "country": TextColumn.build(countries),
            "lifecycle": TextColumn.build([a.lifecycle for a in accounts]),
            "region": TextColumn.build(
                [country_region.get(c.casefold()) if c else None for c in countries]
            ),
        }
        extra_names = sorted({k for a in accounts if a.extra for k in a.extra})
        for name in extra_names:
            text[name] = TextColumn.build([(a.extra or {}).get(name) for a in accounts])
        return cls(
            ids=[a.id for a in accounts],
            text=text,
            numbers={"employees": employees, "annual_revenue": revenue},
        )
