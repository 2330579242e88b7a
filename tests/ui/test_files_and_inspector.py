"""The inspector, saving and reopening, the unsaved-changes prompt, and starting the app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QLineEdit, QMessageBox, QWidget
from ui_helpers import drag, node_point, port_point

from studio.model import Workflow, validate_data
from studio.nodes import specs
from studio.ui import MainWindow
from studio.ui.app import NO_DISPLAY, main


def action(win: MainWindow, name: str) -> QAction:
    found = win.findChild(QAction, name)
    assert found is not None, name
    return found


def inspector_field(win: MainWindow, name: str) -> Any:
    found = win.findChild(QWidget, "inspector").findChild(QWidget, name)
    assert found is not None, name
    return found


def test_edit_params_in_the_inspector_and_undo(window: MainWindow, qtbot: Any, examples: Path,
                                               shot: Any) -> None:
    window.open_workflow(examples / "csv-report.flow.json")
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton,
                     pos=node_point(window, "big_orders"))
    node = window.document.workflow.nodes["big_orders"]
    combo: QComboBox = inspector_field(window, "param:op")
    assert combo.currentText() == "ge"
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Up)  # ge -> the choice above it (gt)
    assert node.params["op"] == "gt"
    column: QLineEdit = inspector_field(window, "param:column")
    column.setFocus()
    column.selectAll()
    qtbot.keyClicks(column, "price")
    assert node.params["column"] == "price"
    shot(window, "inspector-edit")
    stack = window.document.undo_stack
    assert stack.count() == 2  # typing five letters is one step
    action(window, "actionUndo").trigger()
    assert node.params["column"] == "units"
    qtbot.waitUntil(lambda: inspector_field(window, "param:column").text() == "units")
    action(window, "actionUndo").trigger()
    assert node.params == {"column": "units", "op": "ge", "value": 5}
    action(window, "actionRedo").trigger()
    assert node.params["op"] != "ge"


def test_inspector_label_json_and_unconnected_inputs(window: MainWindow, qtbot: Any,
                                                     tmp_path: Path) -> None:
    window.open_workflow(_write(tmp_path / "t.flow.json", [
        {"id": "c", "type": "constant", "params": {"value": [1, 2]}, "position": [0, 0]},
        {"id": "s", "type": "sort_rows", "params": {"column": "x"}, "position": [300, 0]},
    ]))
    window.scene.select_only(["c"])
    label: QLineEdit = inspector_field(window, "label")
    qtbot.keyClicks(label, "Numbers")
    assert window.document.workflow.nodes["c"].label == "Numbers"
    value = inspector_field(window, "param:value")
    value.setFocus()
    value.selectAll()
    qtbot.keyClicks(value, "hello")  # not JSON: kept as text
    assert window.document.workflow.nodes["c"].params["value"] == "hello"
    window.scene.select_only(["s"])
    descending: QCheckBox = inspector_field(window, "param:descending")
    descending.click()
    assert window.document.workflow.nodes["s"].params["descending"] is True
    table = inspector_field(window, "input:table")
    table.setFocus()
    qtbot.keyClicks(table, '[{"x": 2}, {"x": 1}]')
    assert window.document.workflow.nodes["s"].params["table"] == [{"x": 2}, {"x": 1}]
    clear = inspector_field(window, "clear:table")
    clear.click()
    assert "table" not in window.document.workflow.nodes["s"].params


def _write(path: Path, nodes: list[dict[str, Any]], edges: list[dict[str, Any]] | None = None) -> Path:
    data = {"format": "studio.workflow", "version": 1, "nodes": nodes, "edges": edges or []}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_save_reopen_and_compare(window: MainWindow, qtbot: Any, examples: Path, tmp_path: Path) -> None:
    path = examples / "csv-report.flow.json"
    original = json.loads(path.read_text(encoding="utf-8"))
    window.open_workflow(path)
    assert "csv-report.flow.json" in window.windowTitle()
    assert not window.windowTitle().startswith("*")
    # Saving an untouched file keeps it as it was (no defaults added, nothing lost).
    action(window, "actionSave").trigger()
    assert json.loads(path.read_text(encoding="utf-8")) == original
    # Edit with the mouse, then save.
    drag(qtbot, window, port_point(window, "read", "data", True), port_point(window, "save", "data", False))
    window.scene.select_only(["per_region"])
    action(window, "actionDelete").trigger()
    window.scene.add_node("sort_rows", window.canvas.mapToScene(QPoint(200, 200)))
    assert window.windowTitle().startswith("*")
    action(window, "actionSave").trigger()
    assert not window.windowTitle().startswith("*")
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved == window.document.workflow.to_dict()
    assert {"source": "read", "source_port": "data", "target": "save",
            "target_port": "data"} in saved["edges"]
    assert "per_region" not in [n["id"] for n in saved["nodes"]]
    assert saved["notes"] == original["notes"]
    other = MainWindow()
    qtbot.addWidget(other)
    other.open_workflow(path)
    assert other.document.workflow.to_dict() == saved
    assert set(other.scene.node_items) == {n["id"] for n in saved["nodes"]}
    assert Workflow.load(path).to_dict() == saved


def test_save_writes_at_once_even_with_problems(window: MainWindow, tmp_path: Path,
                                                no_blocking_dialogs: list[Any]) -> None:
    path = _write(tmp_path / "p.flow.json", [{"id": "r", "type": "read_file", "position": [0, 0]}])
    window.open_workflow(path)
    window.scene.add_node("math", window.canvas.mapToScene(QPoint(300, 300)))
    action(window, "actionSave").trigger()
    assert no_blocking_dialogs == []
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert [n["id"] for n in saved["nodes"]] == ["r", "math"]
    assert validate_data(saved, specs())  # it has problems, and it was saved anyway
    assert "problem" in window.statusBar().currentMessage()


def test_rebuild_csv_report_from_an_empty_canvas(window: MainWindow, qtbot: Any, examples: Path,
                                                 monkeypatch: pytest.MonkeyPatch, shot: Any) -> None:
    """What a new user does: palette, connect by mouse, fill params, save, validate."""
    for i, type_id in enumerate(["read_file", "filter_rows", "aggregate", "write_file"]):
        window.scene.add_node(type_id, window.canvas.mapToScene(QPoint(40 + i * 240, 300)))
    ids = list(window.document.workflow.nodes)
    assert ids == ["read_file", "filter_rows", "aggregate", "write_file"]
    for (a, out), (b, inp) in [(("read_file", "data"), ("filter_rows", "table")),
                               (("filter_rows", "table"), ("aggregate", "table")),
                               (("aggregate", "table"), ("write_file", "data"))]:
        drag(qtbot, window, port_point(window, a, out, True), port_point(window, b, inp, False))
    assert len(window.document.workflow.edges) == 3

    def fill(node_id: str, values: dict[str, str]) -> None:
        window.scene.select_only([node_id])
        for name, text in values.items():
            field = inspector_field(window, f"param:{name}")
            if isinstance(field, QComboBox):
                field.setCurrentIndex(field.findText(text))
                field.activated.emit(field.currentIndex())
            else:
                line = field if isinstance(field, QLineEdit) else field.findChild(QLineEdit)
                line.setFocus()
                line.selectAll()
                qtbot.keyClicks(line, text)

    fill("read_file", {"path": "sales.csv", "format": "csv"})
    fill("filter_rows", {"column": "units", "op": "ge", "value": "5"})
    fill("aggregate", {"column": "units", "func": "sum", "group_by": "region"})
    fill("write_file", {"path": "report.json", "format": "json"})
    assert window.document.problems == []
    shot(window, "rebuilt-csv-report")
    target = examples / "rebuilt.flow.json"
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    action(window, "actionSave").trigger()
    result = subprocess.run([sys.executable, "-m", "studio", "validate", str(target)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert window.document.workflow.nodes["filter_rows"].params["value"] == 5


def test_unsaved_changes_prompt(window: MainWindow, qtbot: Any, examples: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = examples / "csv-report.flow.json"
    window.open_workflow(path)
    before = path.read_text(encoding="utf-8")
    window.scene.select_only(["save"])
    action(window, "actionDelete").trigger()
    asked: list[str] = []

    def answer(button: QMessageBox.StandardButton) -> Any:
        def fake(parent: Any, title: str, text: str, *args: Any) -> QMessageBox.StandardButton:
            asked.append(text)
            return button

        return fake

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Cancel))
    assert not window.close()
    assert window.isVisible() and len(asked) == 1 and "csv-report.flow.json" in asked[0]
    action(window, "actionNew").trigger()  # cancelled too: the workflow stays
    assert "save" not in window.document.workflow.nodes and window.document.path == path.resolve()
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Save))
    assert window.close()
    assert path.read_text(encoding="utf-8") != before
    assert "save" not in json.loads(path.read_text(encoding="utf-8"))["nodes"][-1]["id"]


def test_discard_closes_without_saving(window: MainWindow, examples: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = examples / "hello.flow.json"
    before = path.read_text(encoding="utf-8")
    window.open_workflow(path)
    window.scene.add_node("log", window.canvas.mapToScene(QPoint(100, 100)))
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a: QMessageBox.StandardButton.Discard)
    assert window.close()
    assert path.read_text(encoding="utf-8") == before


def test_start_opens_example_then_last_file(qtbot: Any, examples: Path) -> None:
    first = MainWindow()
    qtbot.addWidget(first)
    first.open_at_start()
    assert first.document.path is not None and first.document.path.name == "csv-report.flow.json"
    assert first.document.workflow.nodes
    first.open_workflow(examples / "hello.flow.json")
    later = MainWindow()
    qtbot.addWidget(later)
    later.open_at_start()
    assert later.document.path == (examples / "hello.flow.json").resolve()
    explicit = MainWindow()
    qtbot.addWidget(explicit)
    explicit.open_at_start(str(examples / "debugging-demo.flow.json"))
    assert explicit.document.path is not None and explicit.document.path.name == "debugging-demo.flow.json"


def test_main_without_display_says_how_to_run_headless(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main() == 2
    err = capsys.readouterr().err
    assert err == NO_DISPLAY + "\n" and "studio run" in err


def test_main_opens_the_window_and_runs(qtbot: Any, examples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = QApplication.instance()
    assert app is not None
    shown: list[MainWindow] = []

    def fake_exec() -> int:
        shown.extend(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        for w in shown:
            w.close()
        return 0

    monkeypatch.setattr(app, "exec", fake_exec)
    assert main(str(examples / "hello.flow.json")) == 0
    assert any(w.document.path == (examples / "hello.flow.json").resolve() for w in shown)
