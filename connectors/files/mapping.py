"""`values:` mapping for one column, memoised per distinct raw value, counts kept exact."""

from __future__ import annotations

from typing import Final

from rules.values import ValueMapper

# Past this many distinct raw values a column is free text: stop memoising (and holding them).
MAX_MEMOISED: Final = 10_000


class MappedColumn:
    """`ValueMapper.map(name, raw)` for one field, at a dict lookup per row.

    A million rows repeat a few hundred industries; mapping each row costs about a second per
    field. The first sight of a raw value goes through the mapper; repeats replay its count
    (total, and the unmapped value) on `mapper.counts`, so the report is the same as if every
    row had been mapped. Repeats also share one result string instead of a copy per row.
    """

    def __init__(self, mapper: ValueMapper, name: str) -> None:
        self._mapper = mapper
        self._name = name
        # The mapper counts only the fields it has a table or known values for.
        self._counted = name in mapper.fields
        # raw -> (canonical value, the unmapped key the mapper counted or "")
        self._seen: dict[str, tuple[str | None, str]] = {}

    def __call__(self, raw: str) -> str | None:
        """Return the canonical value of `raw` (None for an empty cell)."""
        seen = self._seen.get(raw)
        if seen is None:
            return self._first(raw)
        value, unmapped = seen
        if value is not None and self._counted:
            count = self._mapper.counts[self._name]
            count.total += 1
            if unmapped:
                count.unmapped[unmapped] += 1
        return value

    def _first(self, raw: str) -> str | None:
        key = raw.strip().lower()
        before = self._unmapped(key)
        value = self._mapper.map(self._name, raw)
        unmapped = key if self._unmapped(key) > before else ""
        if len(self._seen) < MAX_MEMOISED:
            self._seen[raw] = (value, unmapped)
        return value

    def _unmapped(self, key: str) -> int:
        count = self._mapper.counts.get(self._name)
        return count.unmapped[key] if count is not None else 0
