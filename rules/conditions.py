"""Rule conditions evaluated over account columns: a missing value makes a condition false."""

from __future__ import annotations

import numpy as np

from rules.columns import AccountColumns, Mask, Numbers, TextColumn
from rules.schema import Condition, When


def when_mask(when: When, columns: AccountColumns, rows: int) -> Mask:
    """Rows where every condition of `when` holds (all rows when `when` is empty)."""
    mask = np.ones(rows, dtype=np.bool_)
    for name, condition in when.items():
        if name in columns.text:
            mask &= _text_mask(condition, columns.text[name])
        elif name in columns.numbers:
            mask &= _number_mask(condition, columns.numbers[name])
        else:
            # A field no account carries (e.g. a custom field absent from the data) is missing.
            mask &= np.full(rows, condition.exists is False, dtype=np.bool_)
    return mask


def _text_mask(condition: Condition, column: TextColumn) -> Mask:
    codes = column.codes
    present = codes >= 0
    mask = np.ones(len(codes), dtype=np.bool_)
    if condition.eq is not None:
        mask &= codes == column.code_of(str(condition.eq))
    if condition.ne is not None:
        mask &= present & (codes != column.code_of(str(condition.ne)))
    if condition.in_ is not None:
        mask &= np.isin(codes, [column.code_of(str(v)) for v in condition.in_])
    if condition.not_in is not None:
        mask &= present & ~np.isin(codes, [column.code_of(str(v)) for v in condition.not_in])
    if condition.exists is not None:
        mask &= present if condition.exists else ~present
    return mask


def _number_mask(condition: Condition, values: Numbers) -> Mask:
    present = ~np.isnan(values)
    mask = np.ones(len(values), dtype=np.bool_)
    # NaN compares false with everything, which is exactly "missing makes it false".
    if condition.eq is not None:
        mask &= values == float(condition.eq)
    if condition.ne is not None:
        mask &= present & (values != float(condition.ne))
    if condition.in_ is not None:
        mask &= np.isin(values, [float(v) for v in condition.in_])
    if condition.not_in is not None:
        mask &= present & ~np.isin(values, [float(v) for v in condition.not_in])
    if condition.between is not None:
        low, high = condition.between
        mask &= (values >= low) & (values <= high)
    if condition.gte is not None:
        mask &= values >= condition.gte
    if condition.gt is not None:
        mask &= values > condition.gt
    if condition.lte is not None:
        mask &= values <= condition.lte
    if condition.lt is not None:
        mask &= values < condition.lt
    if condition.exists is not None:
        mask &= present if condition.exists else ~present
    return mask


def first_match(masks: list[Mask], rows: int) -> np.ndarray:
    """Index of the first mask true in each row, or -1 where none is."""
    chosen = np.full(rows, -1, dtype=np.int32)
    undecided = np.ones(rows, dtype=np.bool_)
    for i, mask in enumerate(masks):
        hit = undecided & mask
        chosen[hit] = i
        undecided &= ~mask
    return chosen
