"""The designer and debugger (Qt). Nothing outside ``studio.ui`` imports Qt."""

from __future__ import annotations

from studio.ui.main_window import MainWindow

__all__ = ["MainWindow"]
