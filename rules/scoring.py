"""Scoring: fit band, intent tier, potential 1-100 and tier 1/2/3 for every account."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from rules.columns import AccountColumns, Numbers, TextColumn
from rules.conditions import first_match, when_mask
from rules.domain import Account
from rules.schema import Factor, RuleFile

BANDS = ("A", "B", "C", "D")
INTENTS = ("hot", "warm", "cold")


@dataclass(frozen=True, slots=True)
class TierCutoffs:
    """Where the tiers were cut: the lowest potential in tiers 1 and 2, and how many ranked."""

    ranked: int
    tier1_count: int
    tier2_count: int
    tier1_min_potential: float | None
    tier2_min_potential: float | None


@dataclass(slots=True)
class Scores:
    """Per-account scores in account-id order, plus what explains them."""

    fit_row: npt.NDArray[np.int32]  # index of the fit row that matched; -1 = none (band D)
    fit: npt.NDArray[np.int8]  # index into BANDS
    intent: npt.NDArray[np.int8]  # index into INTENTS
    signal: list[tuple[str, date] | None]  # latest counted signal, if any
    potential: Numbers
    tier: npt.NDArray[np.int8]
    cutoffs: TierCutoffs


def score_accounts(
    rule: RuleFile, accounts: Sequence[Account], columns: AccountColumns, as_of: date
) -> Scores:
    """Score every account and add fit/intent/potential/tier columns to `columns`."""
    n = len(accounts)
    fit_row = first_match([when_mask(row.when, columns, n) for row in rule.fit], n)
    band_of_row = np.array([BANDS.index(row.band) for row in rule.fit] + [3], dtype=np.int8)
    fit = band_of_row[fit_row]  # -1 picks the appended D
    columns.text["fit"] = _fixed_vocabulary(fit, BANDS)

    intent, signal = _intent(rule, accounts, fit, as_of)
    columns.text["intent"] = _fixed_vocabulary(intent, INTENTS)

    potential = _potential(rule, columns, n)
    columns.numbers["potential"] = potential

    tier, cutoffs = _tiers(rule, columns.ids, fit, potential)
    columns.numbers["tier"] = tier.astype(np.float64)
    return Scores(
        fit_row=fit_row,
        fit=fit,
        intent=intent,
        signal=signal,
        potential=potential,
        tier=tier,
        cutoffs=cutoffs,
    )


def _fixed_vocabulary(codes: npt.NDArray[np.int8], vocabulary: Sequence[str]) -> TextColumn:
    words = [v.casefold() for v in vocabulary]
    return TextColumn(
        codes=codes.astype(np.int32), vocabulary=words, index={w: i for i, w in enumerate(words)}
    )


def _intent(
    rule: RuleFile, accounts: Sequence[Account], fit: npt.NDArray[np.int8], as_of: date
) -> tuple[npt.NDArray[np.int8], list[tuple[str, date] | None]]:
    counted = frozenset(rule.intent.signals)
    hot_days, warm_days = rule.intent.hot_days, rule.intent.warm_days
    intent = np.full(len(accounts), 2, dtype=np.int8)
    signals: list[tuple[str, date] | None] = [None] * len(accounts)
    for i, account in enumerate(accounts):
        if not account.signals:
            continue
        latest: tuple[str, date] | None = None
        for name, when in account.signals:
            # A signal dated after as_of has not happened yet as far as this plan knows.
            if name in counted and when <= as_of and (latest is None or when > latest[1]):
                latest = (name, when)
        signals[i] = latest
        if latest is None or fit[i] > 1:  # only fit A/B can be hot or warm
            continue
        age = (as_of - latest[1]).days
        if age <= hot_days:
            intent[i] = 0
        elif age <= warm_days:
            intent[i] = 1
    return intent, signals


def _potential(rule: RuleFile, columns: AccountColumns, n: int) -> Numbers:
    factors = rule.potential.factors
    total_weight = sum(f.weight for f in factors.values())
    score = np.zeros(n)
    for name in sorted(factors):  # a fixed order keeps float sums identical run to run
        factor = factors[name]
        score += factor.weight * _factor_score(name, factor, columns, n)
    raw = score / total_weight if total_weight else score
    # 1-100 with two decimals: fine enough to rank, stable enough to print.
    return np.round(1 + 99 * np.clip(raw, 0, 1), 2)


def _factor_score(name: str, factor: Factor, columns: AccountColumns, n: int) -> Numbers:
    if factor.values is not None:
        column = columns.text.get(name)
        if column is None:
            return np.zeros(n)
        table = np.zeros(len(column.vocabulary) + 1)
        for value, weight in factor.values.items():
            code = column.code_of(value)
            if code >= 0:
                table[code] = weight
        # code -1 (missing) indexes the trailing zero.
        return table[column.codes]
    values = columns.numbers.get(name)
    if values is None or factor.range is None:
        return np.zeros(n)
    low, high = factor.range
    with np.errstate(invalid="ignore", divide="ignore"):
        if factor.scale == "log":
            scaled = (np.log(np.maximum(values, low)) - math.log(low)) / (
                math.log(high) - math.log(low)
            )
        else:
            scaled = (values - low) / (high - low)
    return np.nan_to_num(np.clip(scaled, 0, 1), nan=0.0)


def _tiers(
    rule: RuleFile, ids: list[str], fit: npt.NDArray[np.int8], potential: Numbers
) -> tuple[npt.NDArray[np.int8], TierCutoffs]:
    tier = np.full(len(ids), 3, dtype=np.int8)
    ranked_rows = np.flatnonzero(fit < 3)
    # Rows are in id order, so a stable sort on -potential ranks by (potential desc, id).
    order = ranked_rows[np.argsort(-potential[ranked_rows], kind="stable")]
    ranked = len(order)
    tier1_count = math.floor(ranked * rule.tiers.tier1 + 1e-9)
    tier2_count = math.floor(ranked * (rule.tiers.tier1 + rule.tiers.tier2) + 1e-9) - tier1_count
    tier[order[:tier1_count]] = 1
    tier[order[tier1_count : tier1_count + tier2_count]] = 2
    return tier, TierCutoffs(
        ranked=ranked,
        tier1_count=tier1_count,
        tier2_count=tier2_count,
        tier1_min_potential=float(potential[order[tier1_count - 1]]) if tier1_count else None,
        tier2_min_potential=(
            float(potential[order[tier1_count + tier2_count - 1]]) if tier2_count else None
        ),
    )
