"""Numbers are read only as exports write them: Python's own spellings are bad cells.

`int()` and `float()` read `1_000` as a thousand and `1_0` as ten, while `1,0` is refused
(thousands separators group by three): a digit separator no export writes must not turn a
typo into a number either.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_csv_damage import ids, load, only_error, write_org

HEADER = "id,name,owner_id,employees,annual_revenue\n"


@pytest.mark.parametrize("column", ["employees", "annual_revenue"])
@pytest.mark.parametrize("cell", ["1_000", "1_0", "12_500_000", "1_000.50"])
def test_a_number_with_underscores_is_a_located_bad_cell(
    tmp_path: Path, column: str, cell: str
) -> None:
    values = {"employees": "10", "annual_revenue": "1000", column: cell}
    lines = [
        "c1,Acme,o1,10,1000\n",
        f"c2,Beta,o1,{values['employees']},{values['annual_revenue']}\n",
    ]

    result = load(write_org(tmp_path, lines, header=HEADER))

    issue = only_error(result)
    assert (issue.row, issue.column) == (3, column)
    assert repr(cell) in issue.message
    assert ids(result) == ["c1"]
