"""An installation under test: a ledger (SQLite, or PostgreSQL), a private Redis, the sandbox
CRM, and real `territory worker` / `territory beat` processes, configured through `TERRITORY_*`
variables with a short visibility timeout, short leases and a relay every 2 s."""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.base import note_marker
from tests.integration.org import park_with_a_rep
from tests.integration.processes import Service, run_territory, territory_command
from tests.integration.sandbox_crm import SandboxCrm
from tests.support.postgres_server import throwaway_database
from tests.support.redis_server import RedisServer
from worker.cli import app
from worker.ledger import Ledger, open_ledger
from worker.ledger.outbox import ChangeRow, count_by_state, select_changes
from worker.ledger.states import ChangeState

# Scaled down so that recovery is quick: the shortest visibility timeout the settings take
# (tasks run at most a quarter of it), leases that expire in seconds, the relay every 2 s,
# and no scheduled sync or apply unless a test asks for one.
FAST_SETTINGS = {
    "TERRITORY_VISIBILITY_TIMEOUT_SECONDS": "60",
    "TERRITORY_LEASE_SECONDS": "10",
    "TERRITORY_RELAY_EVERY_SECONDS": "2",
    "TERRITORY_SYNC_EVERY_MINUTES": "600",
    "TERRITORY_APPLY_EVERY_MINUTES": "600",
    "TERRITORY_RECONCILE_EVERY_MINUTES": "600",
    "TERRITORY_MAX_DELIVERIES": "3",
}


@dataclass
class Deployment:
    """One installation: its settings, ledger and processes, all under `workdir`."""

    workdir: Path
    env: dict[str, str]
    ledger_url: str
    services: list[Service] = field(default_factory=list)
    _ledger: Ledger | None = None

    def configure(self, **settings: str) -> None:
        """Set `TERRITORY_<NAME>` variables for every process started from now on."""
        self.env.update({f"TERRITORY_{k.upper()}": v for k, v in settings.items()})

    def territory(self, *args: str | Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
        """Run a `territory` command in this process (the real CLI, without the seconds a new
        interpreter takes); it must exit with `expect`."""
        result = CliRunner().invoke(app, [str(a) for a in args], env=self.env)
        done = subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)
        return self._expect(done, expect)

    def run(self, *args: str | Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
        """Run a `territory` command in a process of its own; it must exit with `expect`."""
        return self._expect(run_territory(args, self.env, self.workdir), expect)

    @staticmethod
    def _expect(
        done: subprocess.CompletedProcess[str], expect: int
    ) -> subprocess.CompletedProcess[str]:
        assert done.returncode == expect, (
            f"territory {' '.join(map(str, done.args))}: exit {done.returncode}\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
        return done

    def start(self, name: str, *args: str) -> Service:
        """Start `territory ARGS` as a service of this installation."""
        service = Service(name, args, self.env, self.workdir)
        self.services.append(service)
        return service

    def worker(self, *args: str, name: str = "worker") -> Service:
        return self.start(name, "worker", "--loglevel", "INFO", *args)

    def beat(self, name: str = "beat") -> Service:
        return self.start(name, "beat", "--loglevel", "INFO")

    @property
    def ledger(self) -> Ledger:
        """The ledger, read from this test process."""
        if self._ledger is None:
            self._ledger = open_ledger(self.ledger_url)
        return self._ledger

    def states(self) -> Counter[str]:
        with self.ledger.read() as connection:
            return Counter(count_by_state(connection))

    def changes(self) -> list[ChangeRow]:
        with self.ledger.read() as connection:
            return select_changes(connection)

    def due(self) -> list[ChangeRow]:
        """Changes effective today or before (the ones write-back must finish)."""
        today = datetime.now(UTC).date()  # TERRITORY_TIMEZONE is UTC, its default
        return [c for c in self.changes() if c.effective_date <= today]

    def explain(self) -> str:
        """The ledger's states and the services' last lines, for a failure message."""
        logs = "\n".join(s.log(40) for s in self.services)
        return f"changes by state: {dict(self.states())}\n{logs}"

    def close(self) -> None:
        for service in self.services:
            service.stop()
        if self._ledger is not None:
            self._ledger.dispose()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def base_environment() -> dict[str, str]:
    """This process's environment without any TERRITORY_* setting of the machine's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TERRITORY_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def deployment_at(workdir: Path, redis: RedisServer, ledger_url: str) -> Deployment:
    env = base_environment()
    env.update(FAST_SETTINGS)
    env["TERRITORY_REDIS_URL"] = redis.url
    env["TERRITORY_DATABASE_URL"] = ledger_url
    return Deployment(workdir, env, ledger_url)


@pytest.fixture
def deployment(tmp_path: Path, redis: RedisServer) -> Iterator[Deployment]:
    """An installation on an embedded SQLite ledger."""
    installed = deployment_at(tmp_path, redis, f"sqlite:///{tmp_path / 'territory.sqlite3'}")
    yield installed
    installed.close()


@pytest.fixture
def postgres_deployment(
    tmp_path: Path, redis: RedisServer, postgres_admin_url: str, postgres_template: str
) -> Iterator[Deployment]:
    """An installation on a PostgreSQL ledger of its own."""
    with throwaway_database(postgres_admin_url, postgres_template) as url:
        installed = deployment_at(tmp_path, redis, url)
        yield installed
        installed.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def deployment_on_each_ledger(request: pytest.FixtureRequest) -> Deployment:
    """An installation on each ledger: SQLite (`deployment`), then PostgreSQL with a database
    of its own (`postgres_deployment`)."""
    fixture = "deployment" if request.param == "sqlite" else "postgres_deployment"
    installed: Deployment = request.getfixturevalue(fixture)
    return installed


@pytest.fixture(scope="session")
def sample_org(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Path]:
    """`territory sample` output with N accounts (HubSpot ids), made once per size."""
    made: dict[int, Path] = {}

    def sample(accounts: int) -> Path:
        if accounts not in made:
            out = tmp_path_factory.mktemp("org") / f"org-{accounts}"
            reps = max(8, accounts // 100)
            args = ["sample", "--accounts", accounts, "--reps", reps, "--seed", 7, "--out", out]
            done = subprocess.run(
                [*territory_command(), *map(str, args), "--flavour", "hubspot"],
                capture_output=True,
                text=True,
                check=False,
                env=base_environment(),
            )
            assert done.returncode == 0, done.stderr
            made[accounts] = out
        return made[accounts]

    return sample


@dataclass
class Installed:
    """A deployment synced with a sandbox serving a sample org, its first plan recorded."""

    deployment: Deployment
    crm: SandboxCrm
    org: Path

    def due_changes(self) -> list[ChangeRow]:
        """The changes effective today or before, of every run."""
        return self.deployment.due()


def install(deployment: Deployment, org: Path, *sandbox_options: str) -> Installed:
    """Serve `org`, then as a user would: activate the test revision, sync, plan and save."""
    window = () if "--window-seconds" in sandbox_options else ("--window-seconds", "1")
    crm = SandboxCrm.serve(org, deployment.env, deployment.workdir, *window, *sandbox_options)
    deployment.services.append(crm.service)
    deployment.env.update(crm.settings())
    rules = park_with_a_rep(
        org / "rules.yaml", deployment.workdir / "rules.yaml", today=date.today()
    )
    deployment.territory("activate", rules)
    deployment.territory("sync", "--source", "hubspot")
    deployment.territory("plan", "--source", "ledger", "--save")
    return Installed(deployment, crm, org)


def assert_applied_exactly_once(installed: Installed) -> None:
    """Every due change is applied, with one owner write and one note each."""
    due = installed.due_changes()
    assert due, "the plan has changes due today"
    states = Counter(str(c.state) for c in due)
    assert states == {ChangeState.APPLIED: len(due)}, states
    writes = installed.crm.owner_writes()
    notes = installed.crm.notes_by_marker()
    assert writes == Counter(c.account_id for c in due)
    assert notes == Counter(note_marker(c.change_id) for c in due)
