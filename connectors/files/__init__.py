"""CSV exports as a source: canonical files, or HubSpot and Salesforce exports as downloaded."""

from __future__ import annotations

from connectors.files.csv_source import CsvLoad, SkippedRowsError, load_csv_directory
from connectors.files.issues import CsvLoadError, RowIssue

__all__ = ["CsvLoad", "CsvLoadError", "RowIssue", "SkippedRowsError", "load_csv_directory"]
