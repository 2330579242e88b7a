"""Tables in the captured state, through the real main window: the lazy grid, its kinds, editing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTreeWidgetItem,
)
from ui_helpers import RUN_TIMEOUT, action, run_and_wait, settle, tree, write_flow

from studio import api
from studio.ui import MainWindow
from studio.ui.table_view import CACHED_BLOCKS, CELL_ROLE, MISSING_ROLE, PENDING, TableModel

BIG_ROWS = 200_000






@pytest.fixture
def debug_window(window: MainWindow, tmp_path: Path) -> MainWindow:
    window.db = str(tmp_path / "runs.db")
    return window


def small_csv(tmp_path: Path) -> Path:
    """A text code with leading zeros, an empty text cell, a missing number (NA), dates."""
    path = tmp_path / "fruit.csv"
    path.write_text("code,name,price,when\n"
                    "007,apple,1.5,2024-05-01\n"
                    "010,,2,2024-05-02\n"
                    "011,pear,NA,2024-05-03\n", encoding="utf-8")
    return path


def read_node(node_id: str, path: Path, x: int, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "read_file", "params": {"path": str(path), **params}, "position": [x, 0]}


def port_item(win: MainWindow, node_id: str, port: str) -> QTreeWidgetItem:
    view = tree(win, "stateView")
    found = view.findItems(node_id, Qt.MatchFlag.MatchExactly, 0)
    assert found, f"{node_id} is not in stateView"
    top = found[0]
    for i in range(top.childCount()):
        if top.child(i).text(0) == port:
            return top.child(i)
    raise AssertionError(f"{node_id} has no port {port} in stateView")


def shown_grid(win: MainWindow, node_id: str, port: str = "data") -> tuple[QTableView, TableModel]:
    """Choose a table output in stateView: the detail pane's grid and its model."""
    view = tree(win, "stateView")
    view.setCurrentItem(port_item(win, node_id, port))
    grid = win.findChild(QTableView, "stateDetailTable")
    assert grid is not None
    model = grid.model()
    assert isinstance(model, TableModel)
    return grid, model


def header(model: TableModel) -> list[str]:
    return [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]


def cell(model: TableModel, row: int, column: int, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
    return model.data(model.index(row, column), role)


def test_table_output_shows_kinds_missing_cells_and_row_count(debug_window: MainWindow, qtbot: Any,
                                                              tmp_path: Path, shot: Any) -> None:
    win = debug_window
    win.open_workflow(write_flow(tmp_path / "fruit.flow.json", [
        read_node("fruit", small_csv(tmp_path), 0, missing=["NA"]),
    ]))
    state = run_and_wait(qtbot, win, "actionRun")
    assert state["status"] == "completed"
    assert port_item(win, "fruit", "data").text(2) == "table · 3 rows"
    grid, model = shown_grid(win, "fruit")
    assert model.rowCount() == 3
    assert header(model) == ["code · text", "name · text", "price · number", "when · date"]
    caption = win.findChild(QLabel, "stateDetailTableCaption")
    assert caption is not None and caption.text() == "3 rows × 4 columns"
    assert [cell(model, r, 0) for r in range(3)] == ["007", "010", "011"]  # text codes keep their zeros
    # An empty text cell shows empty; a missing cell shows "missing", in grey italics.
    assert cell(model, 1, 1) == "" and cell(model, 1, 1, MISSING_ROLE) is False
    assert cell(model, 2, 2) == "missing" and cell(model, 2, 2, MISSING_ROLE) is True
    assert cell(model, 2, 2, Qt.ItemDataRole.FontRole).italic()
    assert cell(model, 1, 2) == "2.0" and cell(model, 0, 2) == "1.5"  # floats as written
    assert cell(model, 0, 3) == "2024-05-01"
    right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    assert cell(model, 0, 2, Qt.ItemDataRole.TextAlignmentRole) == right
    assert cell(model, 0, 0, Qt.ItemDataRole.TextAlignmentRole) != right
    qtbot.waitUntil(lambda: grid.isVisible())
    shot(win.debugger.state_dock, "table-in-state-panel")


def test_a_big_table_scrolls_to_its_last_row_without_loading_it_all(debug_window: MainWindow, qtbot: Any,
                                                                    tmp_path: Path, shot: Any) -> None:
    win = debug_window
    big = tmp_path / "big.csv"
    big.write_text("n,label\n" + "".join(f"{i},row {i}\n" for i in range(BIG_ROWS)), encoding="utf-8")
    win.open_workflow(write_flow(tmp_path / "big.flow.json", [read_node("big", big, 0)]))
    state = run_and_wait(qtbot, win, "actionRun")
    assert state["status"] == "completed"
    assert len(state["outputs"]["big"]["data"]) < BIG_ROWS  # the GUI is handed the first rows only
    assert state["tables"]["big.data"]["rows"] == BIG_ROWS
    assert port_item(win, "big", "data").text(2) == "table · 200,000 rows"
    grid, model = shown_grid(win, "big")
    assert model.rowCount() == BIG_ROWS
    assert header(model) == ["n · number", "label · text"]
    assert win.findChild(QLabel, "stateDetailTableCaption").text() == "200,000 rows × 2 columns"
    assert cell(model, 0, 1) == "row 0"  # the first rows came with the state
    grid.scrollToBottom()
    last = BIG_ROWS - 1
    qtbot.waitUntil(lambda: cell(model, last, 0, CELL_ROLE) is not PENDING, timeout=RUN_TIMEOUT)
    assert cell(model, last, 0) == str(last) and cell(model, last, 1) == f"row {last}"
    middle = BIG_ROWS // 2 + 7
    grid.scrollTo(model.index(middle, 0))
    qtbot.waitUntil(lambda: cell(model, middle, 1, CELL_ROLE) is not PENDING, timeout=RUN_TIMEOUT)
    assert cell(model, middle, 1) == f"row {middle}"
    assert model.cached_blocks() <= CACHED_BLOCKS  # only blocks that were shown are held
    shot(win.debugger.state_dock, "big-table-scrolled")

    # Too big to change cell by cell: the editor opens read-only and says why.
    tree(win, "stateView").itemDoubleClicked.emit(port_item(win, "big", "data"), 2)
    editor = win.findChild(QDialog, "valueEditor")
    assert editor is not None
    qtbot.waitUntil(editor.isVisible)
    editor_model = editor.findChild(QTableView, "valueEditorGrid").model()
    assert editor_model.rowCount() == BIG_ROWS and not editor_model.editable
    assert "100,000" in editor.findChild(QLabel, "valueEditorGridCaption").text()
    editor.reject()


def test_editing_a_cell_writes_a_state_edit_that_keeps_the_column_kinds(
        debug_window: MainWindow, qtbot: Any, tmp_path: Path, shot: Any) -> None:
    win = debug_window
    win.open_workflow(write_flow(tmp_path / "total.flow.json", [
        read_node("fruit", small_csv(tmp_path), 0, missing=["NA"]),
        {"id": "total", "type": "aggregate", "params": {"column": "price", "func": "sum"},
         "position": [300, 0], "breakpoint": True},
    ], [{"source": "fruit", "source_port": "data", "target": "total", "target_port": "table"}]))
    state = run_and_wait(qtbot, win, "actionRun")
    assert state["status"] == "paused" and state["next"] == ["total"]
    run_id = state["run_id"]
    edge_tip = next(i for i in win.scene.edge_items if i.edge.source == "fruit").toolTip()
    assert edge_tip.splitlines()[:2] == ["fruit.data -> total.table", "table · 3 rows × 4 columns"]
    view = tree(win, "stateView")
    view.setCurrentItem(port_item(win, "fruit", "data"))
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_F2)  # F2 (or a double-click) opens the value's editor
    editor = win.findChild(QDialog, "valueEditor")
    assert editor is not None
    qtbot.waitUntil(editor.isVisible)
    editor.activateWindow()
    qtbot.waitUntil(editor.isActiveWindow)
    grid = editor.findChild(QTableView, "valueEditorGrid")
    model = grid.model()
    assert isinstance(model, TableModel) and model.editable
    assert editor.findChild(QPushButton, "valueEditorJson").isEnabled()  # "Edit as JSON" beside the grid
    save = editor.findChild(QPushButton, "valueEditorSave")
    assert not save.isEnabled()

    def type_into(row: int, column: int, text: str) -> None:
        grid.setCurrentIndex(model.index(row, column))
        qtbot.keyClick(grid, Qt.Key.Key_F2)  # starts editing the current cell
        # The editor of the cell edited before may still wait for its deletion: take the open one.
        line = next((w for w in grid.findChildren(QLineEdit) if w.isVisible()), None)
        assert line is not None
        line.selectAll()
        qtbot.keyClicks(line, text)
        qtbot.keyClick(line, Qt.Key.Key_Return)  # the delegate commits on the next turn of the event loop
        qtbot.waitUntil(lambda: grid.state() != QAbstractItemView.State.EditingState)

    type_into(0, 2, "abc")  # not a number: refused, with a sentence
    assert cell(model, 0, 2) == "1.5"
    assert "not a number" in editor.findChild(QLabel, "valueEditorMessage").text()
    type_into(0, 2, "2.25")
    assert cell(model, 0, 2) == "2.25"
    type_into(2, 3, "2024-06-30")
    grid.setCurrentIndex(model.index(0, 1))
    qtbot.keyClick(grid, Qt.Key.Key_Delete)  # Delete makes a cell missing
    assert cell(model, 0, 1) == "missing"
    assert save.isEnabled() and save.text() == "Save 3 changes"
    shot(editor, "table-editor")
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)

    def edited() -> bool:
        return api.checkpoints(run_id, db=win.db)[-1]["event"] == "state_edited"

    qtbot.waitUntil(edited, timeout=RUN_TIMEOUT)
    settle(qtbot, win)
    after = api.state(run_id, db=win.db)
    assert after["status"] == "paused"
    assert after["outputs"]["fruit"]["data"] == [
        {"code": "007", "name": None, "price": 2.25, "when": "2024-05-01"},
        {"code": "010", "name": "", "price": 2.0, "when": "2024-05-02"},
        {"code": "011", "name": "pear", "price": None, "when": "2024-06-30"},
    ]
    assert after["tables"]["fruit.data"]["columns"] == [
        {"name": "code", "kind": "text"}, {"name": "name", "kind": "text"},
        {"name": "price", "kind": "number"}, {"name": "when", "kind": "date"},
    ]
    # The panel shows the edited table, and Continue goes on with it.
    _, shown = shown_grid(win, "fruit")
    assert cell(shown, 2, 3) == "2024-06-30" and cell(shown, 0, 1) == "missing"
    assert action(win, "actionContinue").isEnabled()
    final = run_and_wait(qtbot, win, "actionContinue")
    assert final["status"] == "completed"
    assert final["outputs"]["total"]["table"] == [{"sum_price": 4.25}]


def test_edit_as_json_on_a_completed_run_forks_a_run_with_the_new_rows(
        debug_window: MainWindow, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    win = debug_window
    win.open_workflow(write_flow(tmp_path / "fruit.flow.json", [
        read_node("fruit", small_csv(tmp_path), 0, missing=["NA"]),
    ]))
    first = run_and_wait(qtbot, win, "actionRun")["run_id"]
    offered: list[str] = []

    def answer(_parent: Any, _title: str, _label: str, text: str, *args: Any, **kwargs: Any) -> tuple[str, bool]:
        offered.append(text)
        rows = json.loads(text)
        rows[1]["name"] = "fig"
        return json.dumps(rows), True

    monkeypatch.setattr(QInputDialog, "getMultiLineText", answer)
    tree(win, "stateView").itemDoubleClicked.emit(port_item(win, "fruit", "data"), 2)
    editor = win.findChild(QDialog, "valueEditor")
    assert editor is not None
    qtbot.waitUntil(editor.isVisible)
    with qtbot.waitSignal(win.debugger.bridge.finished, timeout=RUN_TIMEOUT) as blocker:
        qtbot.mouseClick(editor.findChild(QPushButton, "valueEditorJson"), Qt.MouseButton.LeftButton)
    settle(qtbot, win)
    assert json.loads(offered[0])[0] == {"code": "007", "name": "apple", "price": 1.5, "when": "2024-05-01"}
    forked = blocker.args[0]["run_id"]
    assert forked != first and win.debugger.run_id == forked  # a completed run is forked, as for any value
    state = api.state(forked, db=win.db)
    assert state["outputs"]["fruit"]["data"][1] == {"code": "010", "name": "fig", "price": 2.0, "when": "2024-05-02"}
    assert [c["kind"] for c in state["tables"]["fruit.data"]["columns"]] == ["text", "text", "number", "date"]
    assert api.state(first, db=win.db)["outputs"]["fruit"]["data"][1]["name"] == ""  # the original is as it was


def test_orders_example_runs_in_the_window(debug_window: MainWindow, qtbot: Any, tmp_path: Path,
                                          shot: Any) -> None:
    """The bundled tables example, opened and run as a user would: every table shown with its size."""
    import shutil

    from studio.resources_path import example

    for name in ("orders-report.flow.json", "orders.csv", "customers.csv"):
        shutil.copy(example(name), tmp_path / name)
    win = debug_window
    win.open_workflow(tmp_path / "orders-report.flow.json")
    state = run_and_wait(qtbot, win, "actionRun")
    assert state["status"] == "completed", state["errors"]
    assert port_item(win, "with_customer", "table").text(2) == "table · 12 rows"
    assert port_item(win, "ranked", "table").text(2) == "table · 5 rows"
    grid, model = shown_grid(win, "ranked", "table")
    assert header(model) == ["country · text", "sales · number", "orders · number", "average_order · number"]
    qtbot.waitUntil(lambda: cell(model, 0, 0) == "Portugal", timeout=RUN_TIMEOUT)
    assert cell(model, 0, 1) == "168.8" and cell(model, 4, 0) == "Unknown"
    assert (tmp_path / "orders-report.xlsx").is_file()
    shot(win, "orders-example-run")
