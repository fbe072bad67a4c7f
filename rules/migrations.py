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


def _readable() -> str:
    if OLDEST_VERSION == CURRENT_VERSION:
        return f"version {CURRENT_VERSION}"
    return f"versions {OLDEST_VERSION} to {CURRENT_VERSION}"


def migrate(document: Document, version: int) -> Document:
    """Upgrade `document` from `version` to CURRENT_VERSION; raise UnknownVersionError."""
    if version > CURRENT_VERSION:
        raise UnknownVersionError(
            f"version {version} is newer than this release of territory-sync understands "
            f"(it reads {_readable()}); upgrade territory-sync or write version: "
            f"{CURRENT_VERSION}"
        )
    if version < OLDEST_VERSION:
        raise UnknownVersionError(f"unknown version {version}; this release reads {_readable()}")
    while version < CURRENT_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            # A release that raised CURRENT_VERSION without registering the step.
            raise UnknownVersionError(
                f"no migration from version {version} to {version + 1} is registered"
            )
        document = step(document)
        version += 1
        document["version"] = version
    return document
