"""Migrations of the rule file format, keyed by `version:`.

A migration takes the plain document of version N and returns the document of version N+1.
Version 1 is the first format, so the registry is empty; the loader still walks it so that the
first real migration is one entry here and a test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rules.schema import CURRENT_VERSION

Document = dict[str, Any]
Migration = Callable[[Document], Document]

# version N -> function upgrading a version-N document to version N+1
MIGRATIONS: dict[int, Migration] = {}

OLDEST_VERSION = 1


class UnknownVersionError(ValueError):
    """The document's version is not one this release reads."""


def migrate(document: Document, version: int) -> Document:
    """Upgrade `document` from `version` to CURRENT_VERSION; raise UnknownVersionError."""
    if version > CURRENT_VERSION:
        raise UnknownVersionError(
            f"version {version} is newer than this release of territory-sync understands "
            f"(it reads versions {OLDEST_VERSION} to {CURRENT_VERSION}); upgrade territory-sync"
        )
    if version < OLDEST_VERSION:
        raise UnknownVersionError(
            f"unknown version {version}; expected {OLDEST_VERSION} to {CURRENT_VERSION}"
        )
    while version < CURRENT_VERSION:
        document = MIGRATIONS[version](document)
        version += 1
        document["version"] = version
    return document
