"""The rule fields a bound CRM can read, for the ledger's steps: activation and sync.

`validate --source` and `plan --source` check this while they load the org
(`worker.sources`); the worker checks it when a revision is activated (an error refuses the
revision: every account would lack the field) and before a sync (fields the CRM lacks are not
requested: Salesforce refuses a query that names one).
"""

from __future__ import annotations

from connectors.base import Connector
from connectors.files.connector import CsvConnector
from connectors.records import ChecksRuleFields, source_fields
from rules.errors import RuleError, RuleIssue
from rules.loader import LoadedRules
from rules.readable_fields import SourceFields, check_readable
from rules.schema import RuleFile


def readable_fields(connector: Connector) -> SourceFields | None:
    """What `connector` reads for its rule, and what its CRM lacks (None: it cannot say)."""
    if isinstance(connector, ChecksRuleFields):
        return source_fields(connector)
    if isinstance(connector, CsvConnector):
        return connector.load.columns.source_fields()
    return None


def check_fields(connector: Connector, loaded: LoadedRules) -> list[RuleIssue]:
    """Warnings about fields `loaded`'s rule reads that the CRM cannot feed; RuleError with
    every issue when a row tests one or intent is used and no signal is readable."""
    fields = readable_fields(connector)
    if fields is None:
        return []
    issues = check_readable(
        loaded.rule, fields, lambda path: loaded.document.locate(path, key=True)
    )
    if any(issue.severity == "error" for issue in issues):
        raise RuleError(issues)
    return issues


def skip_missing(connector: Connector, rule: RuleFile | None) -> None:
    """Never request a field the CRM lacks (Salesforce refuses the whole query)."""
    if rule is not None and isinstance(connector, ChecksRuleFields):
        connector.builder.skip(source_fields(connector).missing)
