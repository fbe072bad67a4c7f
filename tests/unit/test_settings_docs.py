"""Every setting is documented in docs/settings.md."""

from __future__ import annotations

from pathlib import Path

from worker.settings import PREFIX, Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_has_a_row() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`{PREFIX}{name.upper()}`" not in text]
    assert not missing, f"docs/settings.md lacks {missing}"
