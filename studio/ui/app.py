"""Start the designer: ``main(path, db)`` runs the Qt application and returns its exit code."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from types import TracebackType

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from studio.ui import theme

log = logging.getLogger("studio.ui")

NO_DISPLAY = (
    "no display found: use 'studio run FILE' to run workflows without the designer, "
    "or set QT_QPA_PLATFORM=offscreen"
)


def has_display() -> bool:
    """Whether Qt can open a window here (Windows and macOS always can)."""
    if sys.platform in ("win32", "darwin"):
        return True
    return any(os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def apply_look(app: QApplication) -> None:
    """Fusion style, the system's light or dark scheme, the style sheet and the window icon."""
    app.setStyle("Fusion")
    follow_colour_scheme(app)
    QApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: follow_colour_scheme(app))
    app.setStyleSheet(theme.stylesheet())
    app.setWindowIcon(theme.icon("app"))


def follow_colour_scheme(app: QApplication) -> None:
    """Use the dark palette while the system's colour scheme is dark."""
    if QApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark:
        app.setPalette(theme.dark_palette())
    else:
        app.setPalette(app.style().standardPalette())


def _report_unexpected(kind: type[BaseException], value: BaseException,
                       tb: TracebackType | None) -> None:
    """Log an unexpected error and show it, instead of letting it end the program."""
    text = "".join(traceback.format_exception(kind, value, tb))
    log.error("unexpected error:\n%s", text)
    sys.stderr.write(text)
    app = QApplication.instance()
    if isinstance(app, QApplication):
        box = QMessageBox(QMessageBox.Icon.Critical, "Workflow Studio",
                          f"Something went wrong: {value}", QMessageBox.StandardButton.Ok)
        box.setDetailedText(text)
        box.exec()


def main(path: str | None = None, db: str | None = None) -> int:
    """Open the designer (with ``path``, else the last file, else an example) and run it."""
    if not has_display():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    from studio.ui.main_window import MainWindow

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("Workflow Studio")
    app.setOrganizationName("studio")
    apply_look(app)
    previous_hook = sys.excepthook
    sys.excepthook = _report_unexpected
    try:
        window = MainWindow(db=db)
        window.open_at_start(path)
        window.show()
        return int(app.exec())
    finally:
        sys.excepthook = previous_hook
