"""`territory plan`, `territory explain` and `territory diff` (registered on the CLI app)."""

from __future__ import annotations
