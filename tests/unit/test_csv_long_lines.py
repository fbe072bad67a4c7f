"""A line no CRM export writes is refused by number before the csv module splits it."""

from __future__ import annotations

import resource
import shutil
from pathlib import Path

import pytest

from connectors.files import CsvLoadError, load_csv_directory
from connectors.files.reading import MAX_LINE_CHARS

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "org"


def test_a_line_of_millions_of_commas_is_refused_by_number_in_bounded_memory(
    tmp_path: Path,
) -> None:
    org = tmp_path / "org"
    shutil.copytree(GOLDEN, org)
    companies = org / "companies.csv"
    lines = companies.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = lines[3].rstrip("\n") + "," * (MAX_LINE_CHARS + 10) + "\n"
    companies.write_text("".join(lines), encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CsvLoadError, match=r"companies\.csv: line 4 is 4,194,") as refused:
        load_csv_directory(org, None)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert "nothing was loaded" in str(refused.value)
    assert grown_mb < 200  # the csv module would build millions of cells: gigabytes
