"""Record ids in each CRM's shape, generated for whole columns at once.

HubSpot-like ids (also used by the canonical flavour) are decimal numbers as strings.
Salesforce ids are 18 characters: key prefix (001 account, 005 user), pod, a base-62 record
number, and the 3-character case checksum that makes the 18-character form case-insensitive.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from sandbox.sample.vocab import Flavour

# The first company and owner numbers; HubSpot company ids are ~10 digits, owner ids ~8.
COMPANY_ID_BASE: Final = 1_000_000_001
OWNER_ID_BASE: Final = 50_000_001

_BASE62: Final = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8
)
_CHECKSUM: Final = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", dtype=np.uint8)
_POD: Final = "8d0"  # instance/pod characters and the reserved zero of a real org's ids
_RECORD_DIGITS: Final = 9
# Record numbers start here so ids look like a mature org's (0000Ab...), not 000000001.
_RECORD_OFFSET: Final = 62**5 * 11 + 62**4 * 37

ACCOUNT_PREFIX: Final = "001"
USER_PREFIX: Final = "005"


def company_ids(flavour: Flavour, start: int, count: int) -> list[str]:
    """Return the ids of companies number `start` .. `start + count - 1` (0-based)."""
    if flavour == "salesforce":
        return salesforce_ids(ACCOUNT_PREFIX, np.arange(start, start + count, dtype=np.int64))
    return [str(COMPANY_ID_BASE + i) for i in range(start, start + count)]


def owner_ids(flavour: Flavour, count: int) -> list[str]:
    """Return the ids of owners number 0 .. `count - 1`."""
    if flavour == "salesforce":
        return salesforce_ids(USER_PREFIX, np.arange(count, dtype=np.int64))
    return [str(OWNER_ID_BASE + i) for i in range(count)]


def salesforce_ids(prefix: str, numbers: npt.NDArray[np.int64]) -> list[str]:
    """Return 18-character Salesforce ids with key `prefix` for record `numbers`."""
    n = len(numbers)
    rest = numbers + _RECORD_OFFSET
    digits = np.empty((n, _RECORD_DIGITS), dtype=np.uint8)
    for position in range(_RECORD_DIGITS - 1, -1, -1):
        digits[:, position] = _BASE62[rest % 62]
        rest //= 62
    head = np.frombuffer((prefix + _POD).encode("ascii"), dtype=np.uint8)
    body = np.concatenate([np.broadcast_to(head, (n, len(head))), digits], axis=1)
    # Checksum: one character per 5-character block, bit i set when character i is upper case.
    upper = (body >= ord("A")) & (body <= ord("Z"))
    flags = (upper.reshape(n, 3, 5) * (1 << np.arange(5))).sum(axis=2)
    full = np.ascontiguousarray(np.concatenate([body, _CHECKSUM[flags]], axis=1))
    as_bytes: npt.NDArray[np.bytes_] = full.view("S18").ravel()
    return as_bytes.astype(str).tolist()  # type: ignore[no-any-return]
