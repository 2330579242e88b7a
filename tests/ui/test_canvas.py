"""The designer through the real main window: palette, quick add, mouse gestures, undo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QAbstractItemView, QGraphicsView, QLineEdit, QWidget
from ui_helpers import drag, node_point, port_point, write_flow

from studio.ui import MainWindow


def action(win: MainWindow, name: str) -> QAction:
    found = win.findChild(QAction, name)
    assert found is not None, name
    return found


def palette_ids(win: MainWindow) -> list[str]:
    view = win.findChild(QWidget, "palette").findChild(QAbstractItemView)
    model = view.model()
    return [model.index(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(model.rowCount())]


@pytest.fixture
def two_nodes(tmp_path: Path) -> Path:
    return write_flow(tmp_path / "two.flow.json", [
        {"id": "number", "type": "constant", "params": {"value": 2}, "position": [0, 0]},
        {"id": "is_big", "type": "compare", "params": {"op": "gt", "b": 1}, "position": [0, 160]},
        {"id": "double", "type": "math", "params": {"op": "mul", "b": 2}, "position": [320, 0]},
    ])


def test_object_names_and_shortcuts(window: MainWindow) -> None:
    for name in ("canvas", "palette", "paletteSearch", "inspector"):
        assert window.findChild(QWidget, name) is not None, name
    assert window.objectName() == "MainWindow"
    assert isinstance(window.findChild(QWidget, "canvas"), QGraphicsView)
    shortcuts = {
        "actionUndo": "Ctrl+Z", "actionRedo": "Ctrl+Shift+Z", "actionSave": "Ctrl+S",
        "actionOpen": "Ctrl+O", "actionDelete": "Del", "actionToggleBreakpoint": "F9",
    }
    for name, keys in shortcuts.items():
        assert action(window, name).shortcut().toString() == keys, name
    assert "Workflow Studio" in window.windowTitle()
    # Every name of CONTRACT section 6, found from the main window; actions are its children.
    for name in ("stateView", "checkpointList", "historyView"):
        assert isinstance(window.findChild(QAbstractItemView, name), QAbstractItemView), name
    assert window.findChild(QWidget, "runLog") is not None
    assert window.findChild(QWidget, "palette").findChild(QAbstractItemView) is not None
    run_actions = {"actionRun": "F5", "actionStep": "F10", "actionStop": "Shift+F5",
                   "actionContinue": "", "actionPause": "", "actionRunToHere": ""}
    for name, keys in {**shortcuts, **run_actions}.items():
        found = action(window, name)
        assert found.parent() is window, name
        assert found.shortcut().toString() == keys, name  # Continue takes F5 only while paused
    assert not any(action(window, n).isEnabled() for n in ("actionContinue", "actionStep",
                                                           "actionPause", "actionStop"))


def test_palette_lists_filters_and_adds(window: MainWindow, qtbot: Any, shot: Any) -> None:
    ids = palette_ids(window)
    assert {"read_file", "filter_rows", "aggregate", "write_file", "math"} <= set(ids)
    search = window.findChild(QLineEdit, "paletteSearch")
    qtbot.keyClicks(search, "filter")
    assert palette_ids(window) == ["filter_rows"]
    shot(window, "palette-search")
    view = window.findChild(QWidget, "palette").findChild(QAbstractItemView)
    rect = view.visualRect(view.model().index(0, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    nodes = window.document.workflow.nodes
    assert [n.type for n in nodes.values()] == ["filter_rows"]
    assert window.windowTitle().startswith("*")
    search.clear()
    assert len(palette_ids(window)) == len(ids)


def test_quick_add_with_tab(window: MainWindow, qtbot: Any, shot: Any) -> None:
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Tab)
    popup = window.findChild(QWidget, "quickAdd")
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClicks(popup.findChild(QLineEdit, "quickAddSearch"), "aggreg")
    shot(window.quick_add, "quick-add")
    qtbot.keyClick(popup.findChild(QLineEdit, "quickAddSearch"), Qt.Key.Key_Return)
    assert not popup.isVisible()
    assert [n.type for n in window.document.workflow.nodes.values()] == ["aggregate"]


def test_quick_add_by_double_click_on_empty_canvas(window: MainWindow, qtbot: Any) -> None:
    viewport = window.canvas.viewport()
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=QPoint(300, 300))
    popup = window.quick_add
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClicks(popup.search, "delay")
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    (node,) = window.document.workflow.nodes.values()
    assert node.type == "delay"
    expected = window.canvas.mapToScene(QPoint(300, 300))
    assert abs(node.position[0] - expected.x()) <= 20 and abs(node.position[1] - expected.y()) <= 20


def test_connect_two_ports_with_the_mouse(window: MainWindow, qtbot: Any, two_nodes: Path,
                                          shot: Any) -> None:
    window.open_workflow(two_nodes)
    start = port_point(window, "number", "value", True)
    end = port_point(window, "double", "a", False)
    drag(qtbot, window, start, end)
    edges = window.document.workflow.edges
    assert [str(e) for e in edges] == ["number.value -> double.a"]
    assert len(window.scene.edge_items) == 1
    assert window.scene.node_items["double"].port("a", False).connected
    shot(window, "connected")
    action(window, "actionUndo").trigger()
    assert window.document.workflow.edges == []
    assert window.scene.edge_items == []


def test_incompatible_connection_is_refused(window: MainWindow, qtbot: Any, two_nodes: Path,
                                            shot: Any) -> None:
    window.open_workflow(two_nodes)
    start = port_point(window, "is_big", "result", True)  # bool
    end = port_point(window, "double", "a", False)  # number
    drag(qtbot, window, start, end)
    assert window.document.workflow.edges == []
    message = window.statusBar().currentMessage()
    assert "Cannot connect" in message and "bool" in message and "number" in message
    shot(window, "refused-connection")
    assert not window.document.modified


def test_cycle_is_refused_and_input_edge_is_replaced(window: MainWindow, qtbot: Any,
                                                      tmp_path: Path) -> None:
    path = write_flow(tmp_path / "chain.flow.json", [
        {"id": "one", "type": "math", "params": {"op": "add", "a": 1, "b": 1}, "position": [0, 0]},
        {"id": "two", "type": "math", "params": {"op": "add", "b": 1}, "position": [300, 0]},
        {"id": "three", "type": "constant", "params": {"value": 5}, "position": [0, 200]},
    ], [{"source": "one", "source_port": "result", "target": "two", "target_port": "a"}])
    window.open_workflow(path)
    drag(qtbot, window, port_point(window, "two", "result", True), port_point(window, "one", "a", False))
    assert "loop" in window.statusBar().currentMessage()
    assert len(window.document.workflow.edges) == 1
    # Dropping on an input that is already fed replaces its edge (one undo step).
    drag(qtbot, window, port_point(window, "three", "value", True), port_point(window, "two", "a", False))
    assert [str(e) for e in window.document.workflow.edges] == ["three.value -> two.a"]
    action(window, "actionUndo").trigger()
    assert [str(e) for e in window.document.workflow.edges] == ["one.result -> two.a"]


def test_drag_from_connected_input_to_empty_canvas_disconnects(window: MainWindow, qtbot: Any,
                                                                examples: Path) -> None:
    window.open_workflow(examples / "csv-report.flow.json")
    before = len(window.document.workflow.edges)
    start = port_point(window, "save", "data", False)
    drag(qtbot, window, start, start + QPoint(0, 120))
    assert len(window.document.workflow.edges) == before - 1
    assert window.document.workflow.edge_into("save", "data") is None


def test_delete_undo_redo(window: MainWindow, qtbot: Any, examples: Path, shot: Any) -> None:
    window.open_workflow(examples / "csv-report.flow.json")
    original = window.document.workflow.to_dict()
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton,
                     pos=node_point(window, "big_orders"))
    assert window.scene.selected_node_ids() == ["big_orders"]
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.ControlModifier, node_point(window, "per_region"))
    assert window.scene.selected_node_ids() == ["big_orders", "per_region"]
    action(window, "actionDelete").trigger()
    wf = window.document.workflow
    assert "big_orders" not in wf.nodes and "per_region" not in wf.nodes
    assert [str(e) for e in wf.edges] == []
    assert set(window.scene.node_items) == {"read", "save"}
    shot(window, "after-delete")
    action(window, "actionUndo").trigger()  # one step undoes the whole deletion
    assert window.document.workflow.to_dict() == original
    assert len(window.scene.edge_items) == len(original["edges"])
    action(window, "actionRedo").trigger()
    assert set(window.document.workflow.nodes) == {"read", "save"}
    action(window, "actionUndo").trigger()
    assert not window.document.modified


def test_move_node_by_dragging_is_one_undo_step(window: MainWindow, qtbot: Any,
                                                examples: Path) -> None:
    window.open_workflow(examples / "csv-report.flow.json")
    start = node_point(window, "read")
    drag(qtbot, window, start, start + QPoint(0, 100))
    pos = window.document.workflow.nodes["read"].position
    assert pos is not None and pos[1] > 40 and pos[1] % 20 == 0
    assert window.document.undo_stack.count() == 1
    action(window, "actionUndo").trigger()
    assert window.document.workflow.nodes["read"].position == (0, 0)
    assert window.scene.node_items["read"].pos() == QPointF(0, 0)


def test_breakpoint_toggle_by_f9_and_gutter(window: MainWindow, qtbot: Any, examples: Path) -> None:
    window.open_workflow(examples / "csv-report.flow.json")
    before = window.document.workflow.to_dict()
    window.scene.select_only(["read"])
    action(window, "actionToggleBreakpoint").trigger()
    assert window.document.workflow.nodes["read"].breakpoint is True
    gutter = node_point(window, "big_orders", QPointF(10, 16))
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=gutter)
    assert window.document.workflow.nodes["big_orders"].breakpoint is True
    action(window, "actionUndo").trigger()
    action(window, "actionUndo").trigger()
    assert not any(n.breakpoint for n in window.document.workflow.nodes.values())
    assert window.document.workflow.to_dict() == before  # undo leaves no '"breakpoint": false'


def test_copy_paste_and_duplicate(window: MainWindow, qtbot: Any, examples: Path) -> None:
    window.open_workflow(examples / "csv-report.flow.json")
    window.scene.select_only(["big_orders", "per_region"])
    action(window, "actionCopy").trigger()
    clip = json.loads(QGuiApplication.clipboard().text())
    assert clip["format"] == "studio.workflow"
    assert [n["id"] for n in clip["nodes"]] == ["big_orders", "per_region"]
    assert len(clip["edges"]) == 1
    action(window, "actionPaste").trigger()
    wf = window.document.workflow
    assert set(wf.nodes) == {"read", "big_orders", "per_region", "save", "big_orders_2", "per_region_2"}
    assert wf.nodes["big_orders_2"].params == wf.nodes["big_orders"].params
    assert "big_orders_2.table -> per_region_2.table" in [str(e) for e in wf.edges]
    assert window.scene.selected_node_ids() == ["big_orders_2", "per_region_2"]
    old = wf.nodes["big_orders"].position
    new = wf.nodes["big_orders_2"].position
    assert old is not None and new is not None and new != old
    action(window, "actionUndo").trigger()  # the paste is one step
    assert set(wf.nodes) == {"read", "big_orders", "per_region", "save"}
    window.scene.select_only(["save"])
    action(window, "actionDuplicate").trigger()
    assert "save_2" in wf.nodes


def test_paste_into_another_window(window: MainWindow, qtbot: Any, examples: Path) -> None:
    window.open_workflow(examples / "csv-report.flow.json")
    window.scene.select_only(["read"])
    action(window, "actionCopy").trigger()
    other = MainWindow()
    qtbot.addWidget(other)
    action(other, "actionPaste").trigger()
    assert [n.type for n in other.document.workflow.nodes.values()] == ["read_file"]
    other.document.undo_stack.setClean()


def test_auto_layout_keeps_graph_and_moves_nodes(window: MainWindow, qtbot: Any,
                                                 examples: Path, shot: Any) -> None:
    path = examples / "debugging-demo.flow.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for node in data["nodes"]:
        node["position"] = [0, 0]  # everything piled up in one place
    path.write_text(json.dumps(data), encoding="utf-8")
    window.open_workflow(path)
    before = window.document.workflow.to_dict()
    action(window, "actionAutoLayout").trigger()
    after = window.document.workflow.to_dict()
    assert after["edges"] == before["edges"]
    assert [n["id"] for n in after["nodes"]] == [n["id"] for n in before["nodes"]]
    assert [{k: v for k, v in n.items() if k != "position"} for n in after["nodes"]] == [
        {k: v for k, v in n.items() if k != "position"} for n in before["nodes"]
    ]
    positions = {n["id"]: tuple(n["position"]) for n in after["nodes"]}
    assert len(set(positions.values())) == len(positions)
    for edge in window.document.workflow.edges:  # left to right
        assert positions[edge.source][0] < positions[edge.target][0]
    rects = [item.sceneBoundingRect() for item in window.scene.node_items.values()]
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])
    window.canvas.fit_all()
    shot(window, "auto-layout")
    action(window, "actionUndo").trigger()
    assert all(n.position == (0, 0) for n in window.document.workflow.nodes.values())


def test_notes_add_edit_delete(window: MainWindow, qtbot: Any, monkeypatch: Any) -> None:
    action(window, "actionAddNote").trigger()
    wf = window.document.workflow
    assert wf.notes is not None and len(wf.notes) == 1
    note = wf.notes[0]
    window.scene.edit_note(note, "remember the milk")
    assert wf.notes[0].text == "remember the milk"
    window.scene.select_only([], [note])
    action(window, "actionDelete").trigger()
    assert wf.notes == []
    action(window, "actionUndo").trigger()
    action(window, "actionUndo").trigger()
    assert [n.text for n in wf.notes] == ["New note: double-click to edit"]


def test_validation_badges(window: MainWindow, qtbot: Any, tmp_path: Path, shot: Any) -> None:
    path = write_flow(tmp_path / "bad.flow.json", [
        {"id": "reader", "type": "read_file", "params": {}, "position": [0, 0]},
        {"id": "sum", "type": "math", "params": {"op": "add"}, "position": [300, 0]},
    ])
    window.open_workflow(path)
    assert window.scene.node_items["reader"].problems
    assert "path" in window.scene.node_items["reader"].toolTip()
    assert "⚠ 3 problems" in window.findChild(QWidget, "problemsLabel").text()
    window.scene.select_only(["sum"])
    shot(window, "validation-badges")
    assert window.inspector.findChild(QWidget, "inspectorProblems").isVisible()


def test_drop_a_node_on_an_edge_inserts_it(window: MainWindow, qtbot: Any, tmp_path: Path) -> None:
    path = write_flow(tmp_path / "insert.flow.json", [
        {"id": "read", "type": "constant", "params": {"value": [{"x": 1}]}, "position": [0, 0]},
        {"id": "save", "type": "log", "params": {}, "position": [600, 0]},
        {"id": "sort", "type": "sort_rows", "params": {"column": "x"}, "position": [300, 300]},
    ], [{"source": "read", "source_port": "value", "target": "save", "target_port": "value"}])
    window.open_workflow(path)
    edge_item = window.scene.edge_items[0]
    middle = edge_item.path().pointAtPercent(0.5)
    sort_item = window.scene.node_items["sort"]
    grab = node_point(window, "sort")
    target = window.canvas.mapFromScene(middle + QPointF(0, -18))  # node body across the edge
    drag(qtbot, window, grab, target)
    assert sort_item.pos() != QPointF(300, 300)
    edges = sorted(str(e) for e in window.document.workflow.edges)
    assert edges == ["read.value -> sort.table", "sort.table -> save.value"]
    action(window, "actionUndo").trigger()  # moving and inserting is one step
    assert [str(e) for e in window.document.workflow.edges] == ["read.value -> save.value"]
    assert window.document.workflow.nodes["sort"].position == (300, 300)


def test_zoom_fit_and_select_all(window: MainWindow, qtbot: Any, examples: Path) -> None:
    window.open_workflow(examples / "csv-report.flow.json")
    start = window.canvas.zoom()
    action(window, "actionZoomIn").trigger()
    assert window.canvas.zoom() > start
    action(window, "actionZoomOut").trigger()
    action(window, "actionZoomOut").trigger()
    assert window.canvas.zoom() < start
    action(window, "actionFitAll").trigger()
    visible = window.canvas.mapToScene(window.canvas.viewport().rect()).boundingRect()
    for item in window.scene.node_items.values():
        assert visible.contains(item.sceneBoundingRect())
    action(window, "actionSelectAll").trigger()
    assert window.scene.selected_node_ids() == list(window.document.workflow.nodes)
    assert window.document.undo_stack.count() == 0  # zoom and selection are not edits


def test_drop_from_the_palette_adds_at_the_drop_point(window: MainWindow, qtbot: Any) -> None:
    from PySide6.QtCore import QMimeData
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    view = window.findChild(QWidget, "palette").findChild(QAbstractItemView)
    model = view.model()
    row = next(r for r in range(model.rowCount()) if model.index(r, 0).data(Qt.ItemDataRole.UserRole) == "log")
    mime: QMimeData = model.mimeData([model.index(row, 0)])
    viewport = window.canvas.viewport()
    point = QPointF(400, 300)
    actions = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction
    enter = QDragEnterEvent(point.toPoint(), actions, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    drop = QDropEvent(point, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, drop)
    (node,) = window.document.workflow.nodes.values()
    assert node.type == "log"
    expected = window.canvas.mapToScene(point.toPoint())
    assert abs(node.position[0] - expected.x()) <= 40 and abs(node.position[1] - expected.y()) <= 40


def test_middle_button_drag_pans_the_view(window: MainWindow, qtbot: Any, examples: Path) -> None:
    window.open_workflow(examples / "csv-report.flow.json")
    viewport = window.canvas.viewport()
    before = window.canvas.mapToScene(viewport.rect().center())
    qtbot.mousePress(viewport, Qt.MouseButton.MiddleButton, pos=QPoint(500, 400))
    qtbot.mouseMove(viewport, QPoint(450, 380))
    qtbot.mouseMove(viewport, QPoint(400, 360))
    qtbot.mouseRelease(viewport, Qt.MouseButton.MiddleButton, pos=QPoint(400, 360))
    after = window.canvas.mapToScene(viewport.rect().center())
    assert after.x() > before.x() and after.y() > before.y()
    assert window.document.undo_stack.count() == 0


def test_unexpected_errors_are_shown_not_fatal(window: MainWindow,
                                               no_blocking_dialogs: list[Any]) -> None:
    from studio.ui.app import _report_unexpected

    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        _report_unexpected(type(exc), exc, exc.__traceback__)
    assert no_blocking_dialogs and "boom" in no_blocking_dialogs[-1][1]
