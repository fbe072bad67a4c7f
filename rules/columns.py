"""Accounts as columns, so conditions over a million accounts are array operations.

Text fields become integer codes into a case-folded vocabulary (-1 = missing); numbers are
float64 with NaN for missing. Rows are in account-id order, the order every aggregation uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
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
    def build(cls, values: Iterable[str | None]) -> TextColumn:
        index: dict[str, int] = {}
        seen: dict[str, int] = {}  # raw value -> code: most columns repeat a few values
        codes: list[int] = []
        append = codes.append
        for value in values:
            if not value:
                append(-1)
                continue
            code = seen.get(value)
            if code is None:
                folded = value.casefold()
                code = index.get(folded)
                if code is None:
                    code = index[folded] = len(index)
                seen[value] = code
            append(code)
        return cls(codes=np.array(codes, dtype=np.int32), vocabulary=list(index), index=index)

    def code_of(self, value: str) -> int:
        """Code of `value` (case-insensitive), or -2, which matches no row."""
        return self.index.get(value.casefold(), -2)


class LazyColumns(MutableMapping[str, TextColumn]):
    """Text columns built on first use: a million-row column nobody's rule reads (a company's
    name or domain, say) is never built. `in`, `get` and iteration see the columns not built
    yet."""

    def __init__(self, builders: dict[str, Callable[[], TextColumn]]) -> None:
        self._built: dict[str, TextColumn] = {}
        self._builders = builders

    def add(self, name: str, builder: Callable[[], TextColumn]) -> None:
        self._builders[name] = builder

    def __getitem__(self, name: str) -> TextColumn:
        column = self._built.get(name)
        if column is None:
            column = self._built[name] = self._builders.pop(name)()
        return column

    def __setitem__(self, name: str, column: TextColumn) -> None:
        self._builders.pop(name, None)
        self._built[name] = column

    def __delitem__(self, name: str) -> None:
        if self._builders.pop(name, None) is None:
            del self._built[name]

    def __contains__(self, name: object) -> bool:
        return name in self._built or name in self._builders

    def __iter__(self) -> Iterator[str]:
        return iter([*self._built, *self._builders])

    def __len__(self) -> int:
        return len(self._built) + len(self._builders)


def _extra_builder(accounts: Sequence[Account], name: str) -> Callable[[], TextColumn]:
    return lambda: TextColumn.build((a.extra or {}).get(name) for a in accounts)


@dataclass(slots=True)
class AccountColumns:
    """Columnar view of accounts sorted by id; `text` and `numbers` are keyed by field name."""

    ids: list[str]
    text: MutableMapping[str, TextColumn]
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
        text = LazyColumns(
            {
                "name": lambda: TextColumn.build(a.name for a in accounts),
                "domain": lambda: TextColumn.build(a.domain for a in accounts),
                "industry": lambda: TextColumn.build(a.industry for a in accounts),
                "country": lambda: TextColumn.build(countries),
                "lifecycle": lambda: TextColumn.build(a.lifecycle for a in accounts),
                "region": lambda: TextColumn.build(
                    country_region.get(c.casefold()) if c else None for c in countries
                ),
            }
        )
        extra_names = sorted({k for a in accounts if a.extra for k in a.extra})
        for name in extra_names:
            text.add(name, _extra_builder(accounts, name))
        return cls(
            ids=[a.id for a in accounts],
            text=text,
            numbers={"employees": employees, "annual_revenue": revenue},
        )
