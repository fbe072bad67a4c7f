"""What the mirror holds, named once: its streams, its baseline, and the rule's read signature.

The mirror stores values after a rule's `fields:` and `values:` mapping, so a revision that
reads other CRM fields, or maps values differently, must not plan on it until a full sync has
stored them again. The signature says exactly that.
"""

from __future__ import annotations

import hashlib
import json
from typing import Final

from rules.schema import RuleFile

COMPANIES_STREAM: Final = "companies"
ARCHIVED_STREAM: Final = "archived"
ACTIVITY_STREAM: Final = "activity"
# The time the first full sync finished: companies first seen later are new.
MIRROR_BASELINE: Final = "mirror.baseline_at"


def read_signature(rule: RuleFile, kind: str) -> tuple[str, ...]:
    """What a sync under `rule` from `kind` stores: the CRM, the field map, the value map."""
    crm = "csv" if kind.startswith("csv:") else kind
    mapped = {str(name): dict(fields) for name, fields in rule.fields.items()}.get(crm, {})
    fields = json.dumps(mapped, sort_keys=True, default=str)
    values = json.dumps(rule.values, sort_keys=True, default=str)
    return (
        f"crm={crm}",
        f"fields={hashlib.sha256(fields.encode()).hexdigest()[:16]}",
        f"values={hashlib.sha256(values.encode()).hexdigest()[:16]}",
    )
