"""Shared test setup: Qt offscreen, a private database and settings per test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"


@pytest.fixture(autouse=True)
def _private_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own default database and settings folder."""
    monkeypatch.setenv("STUDIO_DB", str(tmp_path / "default-studio.db"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A private copy of the bundled examples (runs write files beside them)."""
    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target)
    return target

