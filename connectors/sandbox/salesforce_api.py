"""The salesforce API subset the sandbox serves (being written)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from connectors.sandbox.state import Sandbox


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    return []
