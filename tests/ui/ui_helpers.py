"""Helpers for the designer tests: files to open, points on the canvas, real mouse drags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QTreeWidget

from studio.ui import MainWindow


def write_flow(path: Path, nodes: list[dict[str, Any]], edges: list[dict[str, Any]] | None = None,
               **extra: Any) -> Path:
    data = {"format": "studio.workflow", "version": 1, "name": path.stem, **extra,
            "nodes": nodes, "edges": edges or []}
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def port_point(win: MainWindow, node_id: str, port: str, output: bool) -> QPoint:
    """Where a port is on the canvas viewport, in viewport pixels."""
    item = win.scene.node_items[node_id].port(port, output)
    assert item is not None, f"{node_id} has no port {port}"
    return win.canvas.mapFromScene(item.scenePos())


def node_point(win: MainWindow, node_id: str, offset: QPointF | None = None) -> QPoint:
    """A point on a node's header (not its breakpoint gutter), in viewport pixels."""
    item = win.scene.node_items[node_id]
    local = offset if offset is not None else QPointF(90, 12)
    return win.canvas.mapFromScene(item.mapToScene(local))


def drag(qtbot: Any, win: MainWindow, start: QPoint, end: QPoint, steps: int = 6) -> None:
    """A real left-button drag on the canvas viewport: press, several moves, release."""
    viewport = win.canvas.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, steps + 1):
        point = start + (end - start) * (i / steps)
        qtbot.mouseMove(viewport, point)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)


RUN_TIMEOUT = 30_000


def action(win: MainWindow, name: str) -> QAction:
    found = win.findChild(QAction, name)
    assert found is not None, name
    return found


def settle(qtbot: Any, win: MainWindow) -> None:
    """Wait until no job runs and the panels show what the store holds."""
    qtbot.waitUntil(win.debugger.settled, timeout=RUN_TIMEOUT)


def run_and_wait(qtbot: Any, win: MainWindow, name: str) -> dict[str, Any]:
    """Trigger a run action, wait for the job and the panels; the state it stopped at."""
    with qtbot.waitSignal(win.debugger.bridge.finished, timeout=RUN_TIMEOUT) as blocker:
        action(win, name).trigger()
    settle(qtbot, win)
    return blocker.args[0]


def tree(win: MainWindow, name: str) -> QTreeWidget:
    found = win.findChild(QTreeWidget, name)
    assert found is not None, name
    return found
