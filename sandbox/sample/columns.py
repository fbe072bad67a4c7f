"""Column work the sample's generators share: category draws and CSV rows from columns."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sandbox.sample.vocab import ObjectArray

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def draw_codes(rng: np.random.Generator, cdf: npt.ArrayLike, count: int) -> Ints:
    """Draw `count` category codes from a cumulative distribution (last entry ~1)."""
    cumulative = np.asarray(cdf, dtype=np.float64)
    codes = np.searchsorted(cumulative / cumulative[-1], rng.random(count), side="right")
    return np.minimum(codes, len(cumulative) - 1).astype(np.int64)


def csv_rows(columns: list[ObjectArray]) -> str:
    """Join columns into CSV lines. Generated values never hold a comma, quote or newline."""
    if len(columns[0]) == 0:
        return ""
    lines = map(",".join, zip(*(column.tolist() for column in columns), strict=True))
    return "\n".join(lines) + "\n"
