"""`territory explain --plan` checks a stored plan before trusting it: a plan edited after
`territory plan` wrote it is refused, never explained wrongly, and a broken plan file is
reported with its file, line and row."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.cli_runs import AS_OF, copy_org, run
from worker.plan_file import plan_json_chunks

EDITED = "was edited or damaged after `territory plan` wrote it"
UNCHECKABLE = "has no plan_sha256 line, so it cannot be checked"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes `territory plan --out` writes for the fixed org."""
    org = copy_org(tmp_path_factory.mktemp("org"))
    out = org / "plan.json"
    result = run(
        "plan", "--rules", org / "rules.yaml", "--source", f"csv:{org}", "--as-of", AS_OF,
        "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def lines_of(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def row_of(data: bytes, account_id: str) -> int:
    prefix = b'{"account_id":"' + account_id.encode() + b'",'
    return next(i for i, line in enumerate(lines_of(data)) if line.startswith(prefix))


def reassign_c002(data: bytes) -> bytes:
    lines = lines_of(data)
    row = row_of(data, "C002")
    owner = re.search(rb'"owner_id":"(\w+)"', lines[row])
    assert owner is not None
    lines[row] = lines[row].replace(owner.group(0), b'"owner_id":"u99"', 1)
    return b"\n".join(lines)


def postpone_a_change(data: bytes) -> bytes:
    return data.replace(b'"effective_date":"2027-01-04"', b'"effective_date":"2027-02-01"', 1)


def drop_a_row(data: bytes) -> bytes:
    lines = lines_of(data)
    del lines[row_of(data, "C005")]
    return b"\n".join(lines)


def swap_two_rows(data: bytes) -> bytes:
    lines = lines_of(data)
    first, second = row_of(data, "C005"), row_of(data, "C006")
    lines[first], lines[second] = lines[second], lines[first]
    return b"\n".join(lines)


def edit_the_summary(data: bytes) -> bytes:
    return data.replace(b'{"accounts":40,', b'{"accounts":41,', 1)


def edit_the_digest(data: bytes) -> bytes:
    digest = re.search(rb'"plan_sha256":"([0-9a-f])', data)
    assert digest is not None
    flipped = b"0" if digest.group(1) != b"0" else b"1"
    return data[: digest.start(1)] + flipped + data[digest.end(1) :]


def append_a_line(data: bytes) -> bytes:
    return data + b"\n"


def windows_line_ends(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r\n")


def drop_the_digest(data: bytes) -> bytes:
    body = data[: data.rindex(b',\n"plan_sha256"')]
    return body + b"\n}\n"


def reformat(data: bytes) -> bytes:
    return json.dumps(json.loads(data), indent=2).encode()


HAND_EDITS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "reassign-an-account": (reassign_c002, EDITED),
    "postpone-a-change": (postpone_a_change, EDITED),
    "drop-a-row": (drop_a_row, EDITED),
    "swap-two-rows": (swap_two_rows, EDITED),
    "edit-the-summary": (edit_the_summary, EDITED),
    "edit-the-digest": (edit_the_digest, EDITED),
    "append-a-line": (append_a_line, EDITED),
    "windows-line-ends": (windows_line_ends, EDITED),
    "drop-the-digest": (drop_the_digest, UNCHECKABLE),
    "reformat": (reformat, UNCHECKABLE),
}


def test_the_plan_as_written_explains(written: bytes, tmp_path: Path) -> None:
    stored = tmp_path / "plan.json"
    stored.write_bytes(written)

    result = run("explain", "C002", "--plan", stored, "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["account_id"] == "C002"


@pytest.mark.parametrize("edit", sorted(HAND_EDITS))
def test_an_edited_plan_is_refused_never_explained(
    written: bytes, tmp_path: Path, edit: str
) -> None:
    change, message = HAND_EDITS[edit]
    stored = tmp_path / "plan.json"
    stored.write_bytes(change(written))
    json.loads(stored.read_bytes())  # still valid JSON: only the digest can tell

    result = run("explain", "C002", "--plan", stored)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"error: {stored}: {message}" in result.stderr
    assert "territory plan --out" in result.stderr


def test_a_truncated_plan_names_the_file_line_and_row(written: bytes, tmp_path: Path) -> None:
    row = row_of(written, "C005")
    lines = lines_of(written)
    stored = tmp_path / "plan.json"
    stored.write_bytes(b"\n".join([*lines[:row], lines[row][:40]]))
    assignments = next(i for i, line in enumerate(lines) if line == b'"assignments":[')

    result = run("explain", "C001", "--plan", stored)

    assert result.exit_code == 2
    assert re.search(
        rf"{re.escape(str(stored))}:{row + 1}:\d+: not valid JSON \(.+\) in "
        rf'assignments\[{row - assignments - 1}\] \(account_id "C005"\)',
        result.stderr,
    ), result.stderr


def test_a_byte_that_is_not_utf8_names_the_file_line_and_row(
    written: bytes, tmp_path: Path
) -> None:
    row = row_of(written, "C007")
    lines = lines_of(written)
    lines[row] = lines[row].replace(b'"fit_band":"', b'"fit_band":"\xff', 1)
    stored = tmp_path / "plan.json"
    stored.write_bytes(b"\n".join(lines))

    result = run("explain", "C007", "--plan", stored)

    assert result.exit_code == 2
    assert f"{stored}:{row + 1}: not UTF-8 text (byte " in result.stderr
    assert 'in assignments[6] (account_id "C007")' in result.stderr


def test_a_plan_whose_rows_lack_their_shape_names_the_file_and_row(
    written: bytes, tmp_path: Path
) -> None:
    """A digest that holds over malformed rows can only come from a writer's bug."""
    document = json.loads(written)
    del document["assignments"][0]["trace"]
    stored = tmp_path / "plan.json"
    stored.write_bytes(b"".join(plan_json_chunks(document)))
    line = row_of(stored.read_bytes(), "C001") + 1

    result = run("explain", "C001", "--plan", stored)

    assert result.exit_code == 2
    assert (
        f"{stored}:{line}: cannot explain account 'C001': its rows are not as "
        "docs/plan-format.md describes (KeyError: 'trace')"
    ) in result.stderr
