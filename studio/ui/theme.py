"""Colours, fonts and icons of the designer, for the light and the dark colour scheme."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette

from studio.resources_path import icon as icon_path
from studio.resources_path import resources_dir

GRID = 20

#: Port colours by type; chosen to stay distinct in both colour schemes.
PORT_COLOURS: dict[str, str] = {
    "any": "#94a3b8",
    "number": "#3b82f6",
    "text": "#f59e0b",
    "bool": "#ef4444",
    "list": "#a855f7",
    "table": "#06b6d4",
    "object": "#10b981",
}

CATEGORY_ICONS: dict[str, str] = {
    "Values": "cat-values",
    "Logic": "cat-logic",
    "Flow": "cat-flow",
    "Files": "cat-files",
    "Tables": "cat-tables",
}

#: Run status of a node on the canvas -> (border colour, fill tint), see ``NodeItem``.
STATUS_COLOURS: dict[str, str] = {
    "queued": "#94a3b8",
    "running": "#3b82f6",
    "done": "#16a34a",
    "failed": "#dc2626",
    "skipped": "#9ca3af",
    "paused": "#f59e0b",
    "stale": "#eab308",
}


@dataclass(frozen=True)
class CanvasColours:
    """The canvas palette for one colour scheme."""

    background: QColor
    grid_minor: QColor
    grid_major: QColor
    node_body: QColor
    node_header: QColor
    node_border: QColor
    node_selected: QColor
    text: QColor
    text_dim: QColor
    note_body: QColor
    note_text: QColor
    warning: QColor


def is_dark() -> bool:
    """Whether the application uses a dark colour scheme."""
    app = QGuiApplication.instance()
    if app is None:
        return False
    hints = QGuiApplication.styleHints()
    if hints.colorScheme() == Qt.ColorScheme.Dark:
        return True
    window = QGuiApplication.palette().color(QPalette.ColorRole.Window)
    return window.lightness() < 110


def canvas_colours() -> CanvasColours:
    if is_dark():
        return CanvasColours(
            background=QColor("#1e2127"),
            grid_minor=QColor("#262a31"),
            grid_major=QColor("#2e333b"),
            node_body=QColor("#2b2f37"),
            node_header=QColor("#353a44"),
            node_border=QColor("#4b5260"),
            node_selected=QColor("#60a5fa"),
            text=QColor("#e5e7eb"),
            text_dim=QColor("#9ca3af"),
            note_body=QColor("#4a4530"),
            note_text=QColor("#f5f0d0"),
            warning=QColor("#f59e0b"),
        )
    return CanvasColours(
        background=QColor("#f4f5f7"),
        grid_minor=QColor("#e9ebef"),
        grid_major=QColor("#dde0e6"),
        node_body=QColor("#ffffff"),
        node_header=QColor("#eef1f5"),
        node_border=QColor("#c3c9d3"),
        node_selected=QColor("#2563eb"),
        text=QColor("#1f2937"),
        text_dim=QColor("#6b7280"),
        note_body=QColor("#fff7c2"),
        note_text=QColor("#3f3a1a"),
        warning=QColor("#d97706"),
    )


def port_colour(port_type: str) -> QColor:
    return QColor(PORT_COLOURS.get(port_type, PORT_COLOURS["any"]))


@cache
def icon(name: str) -> QIcon:
    """An SVG icon from ``resources/icons`` (an empty icon when missing)."""
    path = icon_path(f"{name}.svg")
    return QIcon(str(path)) if path.exists() else QIcon()


def category_icon(category: str) -> QIcon:
    return icon(CATEGORY_ICONS.get(category, "cat-other"))


def dark_palette() -> QPalette:
    """A calm dark palette for the Fusion style."""
    pal = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#23262d",
        QPalette.ColorRole.WindowText: "#e5e7eb",
        QPalette.ColorRole.Base: "#1b1e23",
        QPalette.ColorRole.AlternateBase: "#262a31",
        QPalette.ColorRole.ToolTipBase: "#2b2f37",
        QPalette.ColorRole.ToolTipText: "#e5e7eb",
        QPalette.ColorRole.Text: "#e5e7eb",
        QPalette.ColorRole.Button: "#2b2f37",
        QPalette.ColorRole.ButtonText: "#e5e7eb",
        QPalette.ColorRole.Highlight: "#2563eb",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: "#8b93a1",
        QPalette.ColorRole.Link: "#60a5fa",
    }
    for role, value in colours.items():
        pal.setColor(role, QColor(value))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6b7280"))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6b7280"))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#6b7280"))
    return pal


def stylesheet() -> str:
    """The application style sheet from ``resources/styles/studio.qss`` (empty when missing)."""
    path = resources_dir() / "styles" / "studio.qss"
    return path.read_text(encoding="utf-8") if path.exists() else ""
