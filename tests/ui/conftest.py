"""Fixtures for the designer tests: a real main window, files to open, screenshots on demand."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from studio.ui import MainWindow
from studio.ui.app import apply_look


@pytest.fixture(autouse=True)
def no_blocking_dialogs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """A modal dialog would hang a test: answer them all ("Discard"/"OK") and record them."""
    shown: list[tuple[str, str]] = []

    def answer(kind: str, result: QMessageBox.StandardButton) -> Callable[..., Any]:
        def fake(parent: Any, title: str, text: str, *args: Any, **kwargs: Any) -> Any:
            shown.append((kind, text))
            return result

        return fake

    monkeypatch.setattr(QMessageBox, "question", answer("question", QMessageBox.StandardButton.Discard))
    monkeypatch.setattr(QMessageBox, "warning", answer("warning", QMessageBox.StandardButton.Ok))
    monkeypatch.setattr(QMessageBox, "critical", answer("critical", QMessageBox.StandardButton.Ok))
    monkeypatch.setattr(QMessageBox, "information", answer("information", QMessageBox.StandardButton.Ok))
    monkeypatch.setattr(QMessageBox, "exec", lambda self: shown.append(("exec", self.text())) or 0)
    return shown


@pytest.fixture
def window(qtbot: Any) -> Iterator[MainWindow]:
    """The main window at 1400×900, shown, with no file open."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_look(app)
    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], None]:
    """``shot(widget, name)`` saves a PNG to ``$STUDIO_SCREENSHOTS`` when that is set."""
    folder = os.environ.get("STUDIO_SCREENSHOTS")

    def save(widget: Any, name: str) -> None:
        if not folder:
            return
        QApplication.processEvents()
        Path(folder).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(folder) / f"{name}.png"))

    return save


