"""Quotas as a RevOps lead sets them: from the book each rep was given, then stretched.

A field rep's quota is what their settled book should book in a year under the team's pipeline
math, times a stretch drawn per rep; so a rep whose book held steady pencils out unless
stretched above it, and the year's events (a departed rep's accounts, a rebalance) move some
reps across the line. Account managers carry a flat renewal quota; the SDR pool none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np

from sandbox.sample.org import Org

# Stretches stay clear of 1.0 so that rounding a quota never decides whether it pencils out.
_STRETCH: Final = (0.85, 0.95, 1.1, 1.2)
_FLAT_FACTORS: Final = (0.9, 1.0, 1.0, 1.1, 1.25)
_ROUND_TO: Final = 10_000
_ROUND_TO_ABOVE_A_MILLION: Final = 50_000
_RAMPING_SHARE: Final = 0.5  # a first-quarter flat quota is prorated
QUARTERS: Final = 4


def set_quotas(org: Org, books: Mapping[str, int], rng: np.random.Generator) -> dict[str, int]:
    """Return each quota-carrying member's quota by email; `books` counts settled accounts."""
    quotas: dict[str, int] = {}
    for team in org.teams:
        spec = team.spec
        for member in team.members:
            if spec.pipeline is not None:
                stretch = float(rng.choice(_STRETCH))
                yearly = books.get(member.email, 0) * QUARTERS * spec.pipeline.bookings_per_account
                quotas[member.email] = max(_ROUND_TO, _rounded(yearly * stretch))
            elif spec.quota is not None:
                factor = float(rng.choice(_FLAT_FACTORS))
                if member.start_date is not None:
                    factor *= _RAMPING_SHARE
                quotas[member.email] = _rounded(spec.quota * factor)
    return quotas


def _rounded(amount: float) -> int:
    """To 10k, or to 50k from a million: quotas are round numbers."""
    step = _ROUND_TO_ABOVE_A_MILLION if amount >= 1_000_000 else _ROUND_TO
    return round(amount / step) * step
