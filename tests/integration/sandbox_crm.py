"""The sandbox CRM as a user runs it: `territory sandbox serve`, configured from the JSON line it
prints first, driven through its control API, and read through the real HubSpot client."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr

from connectors.base import Connector
from tests.integration.processes import Service, wait_until
from worker.crm import open_connector
from worker.settings import Settings


class SandboxCrm:
    """A running `territory sandbox serve` and what it said at start."""

    def __init__(self, service: Service, info: dict[str, str]) -> None:
        self.service = service
        self.info = info

    @classmethod
    def serve(
        cls, org: Path, env: dict[str, str], cwd: Path, *options: str, name: str = "sandbox"
    ) -> SandboxCrm:
        """Start the sandbox on `org` with `options`; wait for its first line."""
        args = ["sandbox", "serve", "--data", org, "--tls-dir", cwd / f"{name}-tls", *options]
        service = Service(name, args, env, cwd)
        found: list[dict[str, str]] = []

        def announced() -> bool:
            if not service.running():
                raise AssertionError(f"the sandbox stopped at start\n{service.log()}")
            for line in service.log_path.read_text(errors="replace").splitlines():
                if line.startswith("{"):
                    found.append(json.loads(line))
                    return True
            return False

        wait_until(announced, 60, service.log)
        return cls(service, found[0])

    def settings(self) -> dict[str, str]:
        """The TERRITORY_* variables that point territory-sync at this sandbox's HubSpot."""
        return {
            "TERRITORY_HUBSPOT_BASE_URL": self.info["hubspot_url"],
            "TERRITORY_HUBSPOT_TOKEN": self.info["hubspot_token"],
        }

    def control(self, method: str, path: str, **body: Any) -> Any:
        """Call the control API; fail on an error status."""
        reply = requests.request(
            method,
            self.info["control_url"] + path,
            json=body or None,
            headers={"Authorization": f"Bearer {self.info['control_token']}"},
            timeout=30,
        )
        assert reply.ok, f"{method} {path}: {reply.status_code} {reply.text}"
        return reply.json()

    def stats(self) -> dict[str, Any]:
        return dict(self.control("GET", "/stats"))

    def owner_writes(self) -> Counter[str]:
        """Owner writes through the API, per company (CSV id)."""
        return Counter(self.stats()["owner_writes"])

    def notes_by_marker(self) -> Counter[str]:
        return Counter(self.stats()["notes_by_marker"])

    def inject(self, spec: str, seed: int = 0) -> None:
        """Replace the faults (`--faults` syntax)."""
        self.control("POST", "/faults", spec=spec, seed=seed)

    def deactivate(self, owner_id: str) -> None:
        """Deactivate a user, as an admin does in the CRM."""
        self.control("POST", f"/owners/{owner_id}/deactivate")

    def connector(self) -> Connector:
        """The HubSpot connector on the official client, as territory-sync opens it."""
        settings = Settings(
            hubspot_token=SecretStr(self.info["hubspot_token"]),
            hubspot_base_url=self.info["hubspot_url"],  # type: ignore[arg-type] - pydantic parses it
        )
        return open_connector("hubspot", settings, None)

    def owners_of(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        """The accounts' owners as HubSpot answers now."""
        return self.connector().read_owners(list(account_ids))
