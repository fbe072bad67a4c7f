"""`territory sandbox serve`: the local CRM the demo, the tests and the benchmarks talk to."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from worker.cli.command_group import CommandGroup
from worker.cli.terminal import err
from worker.console import ExitCode, fail

commands = CommandGroup(
    name="sandbox",
    help="A local CRM speaking the HubSpot and Salesforce API subsets territory-sync uses "
    "(for tests and demos; it is not a CRM: see docs/sandbox.md).",
)


@commands.command()
def serve(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="A canonical CSV directory to serve (`territory sample` output).",
            metavar="DIR",
        ),
    ],
    host: Annotated[
        str, typer.Option(help="Interface to listen on.", metavar="HOST")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            help="HTTP port for HubSpot and the control API (0: a free port).", metavar="PORT"
        ),
    ] = 0,
    salesforce_port: Annotated[
        int, typer.Option(help="HTTPS port for Salesforce (0: a free port).", metavar="PORT")
    ] = 0,
    webhook_url: Annotated[
        str | None,
        typer.Option(
            help="Where company creations are POSTed as signed HubSpot v3 webhooks.",
            metavar="URL",
        ),
    ] = None,
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            help="Client secret the webhooks are signed with (needs --webhook-url).",
            metavar="SECRET",
        ),
    ] = None,
    limit_per_window: Annotated[
        int, typer.Option(min=1, help="HubSpot requests allowed per rolling window.", metavar="N")
    ] = 190,
    window_seconds: Annotated[
        float, typer.Option(min=0.01, help="Length of HubSpot's rolling window.", metavar="SEC")
    ] = 10.0,
    search_per_second: Annotated[
        int, typer.Option(min=1, help="HubSpot search requests allowed per second.", metavar="N")
    ] = 5,
    search_cap: Annotated[
        int, typer.Option(min=1, help="Results one HubSpot search can page through.", metavar="N")
    ] = 10_000,
    salesforce_daily_limit: Annotated[
        int, typer.Option(min=1, help="Salesforce API calls allowed per day.", metavar="N")
    ] = 100_000,
    search_lag: Annotated[
        float,
        typer.Option(min=0, help="Seconds before HubSpot search sees an edit.", metavar="SEC"),
    ] = 0.0,
    faults: Annotated[
        str,
        typer.Option(
            help="Injected faults, e.g. 'hubspot.*:429=0.2'; several joined by ';' (see "
            "docs/sandbox.md).",
            metavar="SPEC",
        ),
    ] = "",
    seed: Annotated[int, typer.Option(help="Seed of the fault generator.", metavar="N")] = 0,
    portal_id: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="HubSpot portal id to serve (default 62515); the Salesforce org id is derived "
            "from it, so sandboxes with different portal ids are different CRM accounts.",
            metavar="N",
        ),
    ] = None,
    tls_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the CA and certificate (default: a temp dir).", metavar="DIR"
        ),
    ] = None,
) -> None:
    """Serve an org over HubSpot's API (HTTP) and Salesforce's (HTTPS) until interrupted.

    The first line on stdout is one JSON object with hubspot_url, hubspot_token,
    salesforce_url, salesforce_session_id, ca_cert, control_url and control_token.
    """
    from sandbox.gate import FaultSpecError, Limits
    from sandbox.server import RunningSandbox, SandboxConfig, serve_until_stopped
    from sandbox.startup import StartupError

    if webhook_secret and not webhook_url:
        fail(err, "--webhook-secret needs --webhook-url", ExitCode.INVALID)
    if not data.is_dir():
        fail(err, f"--data {data}: not a directory", ExitCode.INVALID)
    config = SandboxConfig(
        data=data,
        host=host,
        port=port,
        salesforce_port=salesforce_port,
        limits=Limits(
            limit_per_window=limit_per_window,
            window_seconds=window_seconds,
            search_per_second=search_per_second,
            search_cap=search_cap,
            salesforce_daily_limit=salesforce_daily_limit,
        ),
        faults=faults,
        seed=seed,
        search_lag=search_lag,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        tls_dir=tls_dir,
    )
    if portal_id is not None:
        config.portal_id = portal_id

    def announce(running: RunningSandbox) -> None:
        for warning in running.warnings:
            err.print(warning, highlight=False, markup=False, soft_wrap=True)
        sys.stdout.write(json.dumps(running.info.to_json()) + "\n")
        sys.stdout.flush()
        org = running.sandbox.org
        err.print(
            f"sandbox: {len(org.companies):,} companies, {len(org.users):,} owners; "
            f"HubSpot {running.info.hubspot_url}, Salesforce {running.info.salesforce_url}; "
            "Ctrl-C stops it",
            highlight=False,
            soft_wrap=True,
        )

    try:
        serve_until_stopped(config, announce)
    except (StartupError, FaultSpecError) as exc:
        fail(err, str(exc), ExitCode.INVALID)
