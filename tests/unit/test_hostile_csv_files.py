"""A CSV source's files are regular files: anything else of that name is refused, by name.

A FIFO or directory named activities.csv was passed over without a word (the org loaded
with no activity at all), and one named companies.csv was reported as missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.files import CsvLoadError, load_csv_directory
from tests.unit.test_csv_damage import company_lines, write_org

ACTIVITIES = "account_id,occurred_at\nc1,2026-11-02\n"


def fifo(path: Path) -> None:
    os.mkfifo(path)


def directory(path: Path) -> None:
    path.mkdir()


def dangling_link(path: Path) -> None:
    path.symlink_to(path.with_name("gone.csv"))


@pytest.mark.parametrize("name", ["companies.csv", "owners.csv", "activities.csv"])
@pytest.mark.parametrize("make", [fifo, directory, dangling_link], ids=lambda f: f.__name__)
def test_a_source_file_that_is_not_a_regular_file_is_refused_by_name(
    tmp_path: Path, name: str, make: Callable[[Path], None]
) -> None:
    org = write_org(tmp_path / "org", company_lines(3))
    (org / "activities.csv").write_text(ACTIVITIES, encoding="utf-8")
    (org / name).unlink()
    make(org / name)

    with pytest.raises(CsvLoadError, match=f"{name} is not a regular file"):
        load_csv_directory(org, None)
