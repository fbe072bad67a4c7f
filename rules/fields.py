"""The catalogue of account fields a rule file can test, and what kind of value each holds."""

from __future__ import annotations

from typing import Final

# Values read from the CRM (after `values:` mapping and country normalisation).
SOURCE_TEXT_FIELDS: Final = frozenset({"name", "domain", "industry", "country", "lifecycle"})
SOURCE_NUMERIC_FIELDS: Final = frozenset({"employees", "annual_revenue"})
# Values the engine derives: region from country, then fit, intent, potential and tier.
DERIVED_TEXT_FIELDS: Final = frozenset({"region", "fit", "intent"})
DERIVED_NUMERIC_FIELDS: Final = frozenset({"potential", "tier"})

TEXT_FIELDS: Final = SOURCE_TEXT_FIELDS | DERIVED_TEXT_FIELDS
NUMERIC_FIELDS: Final = SOURCE_NUMERIC_FIELDS | DERIVED_NUMERIC_FIELDS

# Fields whose raw CRM values go through `values:` before any rule sees them.
MAPPABLE_FIELDS: Final = frozenset({"industry", "lifecycle", "country"})
# Fields a connector reads from the CRM and `fields:` may point elsewhere.
SOURCE_FIELDS: Final = SOURCE_TEXT_FIELDS | SOURCE_NUMERIC_FIELDS | {"parent_id"}

# Fit rows are evaluated before fit, intent, potential and tier exist.
FIT_CONDITION_FIELDS: Final = (SOURCE_TEXT_FIELDS | SOURCE_NUMERIC_FIELDS) | {"region"}

FIT_BANDS: Final = ("A", "B", "C", "D")
INTENT_TIERS: Final = ("hot", "warm", "cold")
TIERS: Final = (1, 2, 3)
CRMS: Final = ("hubspot", "salesforce", "csv")

SIGNAL_PREFIX: Final = "signals."
