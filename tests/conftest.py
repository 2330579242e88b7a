"""Shared test setup: Qt offscreen, a private database and settings per test."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_EXIT_STATUS = pytest.StashKey[int]()
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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave without interpreter finalization once Qt has been loaded.

    PySide6 can abort the interpreter while it garbage-collects at exit ("Fatal
    Python error: none_dealloc", seen once in CI after every test had passed).
    By now every result has been reported, so skip that phase and keep pytest's
    own exit status.
    """
    if "PySide6.QtCore" in sys.modules and _EXIT_STATUS in config.stash:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(config.stash[_EXIT_STATUS])
