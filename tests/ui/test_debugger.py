"""The debugger through the real main window: runs on a worker thread, real SQLite in tmp_path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QAbstractItemView, QInputDialog, QPushButton, QTreeWidget, QWidget
from ui_helpers import RUN_TIMEOUT, action, run_and_wait, settle, tree, write_flow

from studio import api
from studio.ui import MainWindow


def top_texts(view: QTreeWidget) -> list[str]:
    return [view.topLevelItem(i).text(0) for i in range(view.topLevelItemCount())]


def statuses(win: MainWindow) -> dict[str, str | None]:
    return {node_id: item.status for node_id, item in win.scene.node_items.items()}


@pytest.fixture
def chain(tmp_path: Path) -> Path:
    """a=2 → b=a*3 (breakpoint) → c=b+1 → d logs c."""
    return write_flow(tmp_path / "chain.flow.json", [
        {"id": "a", "type": "constant", "params": {"value": 2}, "position": [0, 0]},
        {"id": "b", "type": "math", "params": {"op": "mul", "b": 3}, "position": [260, 0],
         "breakpoint": True},
        {"id": "c", "type": "math", "params": {"op": "add", "b": 1}, "position": [520, 0]},
        {"id": "d", "type": "log", "params": {"message": "result:"}, "position": [780, 0]},
    ], [
        {"source": "a", "source_port": "value", "target": "b", "target_port": "a"},
        {"source": "b", "source_port": "result", "target": "c", "target_port": "a"},
        {"source": "c", "source_port": "result", "target": "d", "target_port": "value"},
    ])


@pytest.fixture
def debug_window(window: MainWindow, tmp_path: Path) -> MainWindow:
    window.db = str(tmp_path / "runs.db")
    return window


def test_breakpoint_step_continue(debug_window: MainWindow, qtbot: Any, chain: Path, shot: Any) -> None:
    win = debug_window
    win.open_workflow(chain)
    for name in ("stateView", "checkpointList", "historyView"):
        assert isinstance(win.findChild(QAbstractItemView, name), QAbstractItemView)
    assert win.findChild(QWidget, "runLog") is not None
    assert not action(win, "actionContinue").isEnabled() and not action(win, "actionStep").isEnabled()
    state = run_and_wait(qtbot, win, "actionRun")
    assert state["status"] == "paused" and state["next"] == ["b"]
    assert top_texts(tree(win, "stateView")) == ["a"]
    assert statuses(win) == {"a": "done", "b": "paused", "c": None, "d": None}
    assert action(win, "actionContinue").isEnabled() and action(win, "actionStep").isEnabled()
    assert action(win, "actionContinue").shortcut().toString() == "F5"
    assert action(win, "actionRun").shortcut().toString() == ""
    assert tree(win, "checkpointList").topLevelItemCount() == 2
    shot(win, "debug-paused-at-breakpoint")

    state = run_and_wait(qtbot, win, "actionStep")
    assert state["status"] == "paused" and state["completed"] == ["a", "b"]
    assert top_texts(tree(win, "stateView")) == ["a", "b"]

    state = run_and_wait(qtbot, win, "actionContinue")
    assert state["status"] == "completed"
    assert state["outputs"]["d"] == {"value": 7}
    assert set(statuses(win).values()) == {"done"}
    edge_tip = next(i for i in win.scene.edge_items if i.edge.source == "b").toolTip()
    assert edge_tip.splitlines() == ["b.result -> c.a", "6"]  # hovering an edge previews its value
    assert not action(win, "actionContinue").isEnabled()
    assert action(win, "actionRun").shortcut().toString() == "F5"
    history = tree(win, "historyView")
    assert history.topLevelItemCount() == len(api.history(state["run_id"], db=win.db))
    assert "result:" in win.findChild(QWidget, "runLog").toPlainText()
    assert tree(win, "checkpointList").topLevelItemCount() == 5
    shot(win, "debug-completed")


def test_edit_value_at_breakpoint_and_continue(debug_window: MainWindow, qtbot: Any, chain: Path,
                                               monkeypatch: pytest.MonkeyPatch, shot: Any) -> None:
    win = debug_window
    win.open_workflow(chain)
    run_and_wait(qtbot, win, "actionRun")
    view = tree(win, "stateView")
    value_item = view.topLevelItem(0).child(0)
    assert value_item.text(0) == "value" and value_item.text(2) == "2"
    monkeypatch.setattr(QInputDialog, "getMultiLineText", lambda *a, **k: ("10", True))
    view.itemDoubleClicked.emit(value_item, 2)
    qtbot.waitUntil(lambda: tree(win, "stateView").topLevelItem(0).child(0).text(2) == "10")
    events = [cp["event"] for cp in api.checkpoints(win.debugger.run_id, db=win.db)]
    assert events[-1] == "state_edited"
    state = run_and_wait(qtbot, win, "actionContinue")
    assert state["status"] == "completed" and state["outputs"]["d"] == {"value": 31}


def test_failing_check_fixed_by_editing_state(debug_window: MainWindow, qtbot: Any, tmp_path: Path,
                                              shot: Any) -> None:
    win = debug_window
    win.open_workflow(write_flow(tmp_path / "budget.flow.json", [
        {"id": "total", "type": "constant", "params": {"value": 80}, "position": [0, 0]},
        {"id": "within", "type": "compare", "params": {"op": "le", "b": 50}, "position": [260, 120]},
        {"id": "guard", "type": "check", "params": {"message": "over budget"}, "position": [520, 0]},
        {"id": "done", "type": "log", "params": {"message": "ok"}, "position": [780, 0]},
    ], [
        {"source": "total", "source_port": "value", "target": "within", "target_port": "a"},
        {"source": "total", "source_port": "value", "target": "guard", "target_port": "value"},
        {"source": "within", "source_port": "result", "target": "guard", "target_port": "condition"},
        {"source": "guard", "source_port": "value", "target": "done", "target_port": "value"},
    ]))
    state = run_and_wait(qtbot, win, "actionRun")
    assert state["status"] == "failed" and state["failed"] == ["guard"]
    assert win.scene.node_items["guard"].status == "failed"
    assert "over budget" in win.scene.node_items["guard"].toolTip()
    assert "over budget" in win.findChild(QWidget, "runLog").toPlainText()
    assert action(win, "actionContinue").isEnabled() and action(win, "actionStep").isEnabled()
    # stateView: one row per node with outputs; the failed node is listed apart with its error.
    assert top_texts(tree(win, "stateView")) == list(state["outputs"]) == ["total", "within"]
    assert top_texts(tree(win, "stateFailed")) == ["guard"]
    assert tree(win, "stateFailed").topLevelItem(0).text(1) == "over budget"
    shot(win, "debug-failed")
    assert win.debugger.edit_value("outputs.within.result", True)
    state = run_and_wait(qtbot, win, "actionContinue")
    assert state["status"] == "completed" and state["outputs"]["done"] == {"value": 80}


def test_failed_node_given_its_output_by_hand(debug_window: MainWindow, qtbot: Any, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    win = debug_window
    win.open_workflow(write_flow(tmp_path / "guard.flow.json", [
        {"id": "guard", "type": "check", "params": {"message": "no", "value": 3, "condition": False},
         "position": [0, 0]},
        {"id": "done", "type": "log", "params": {"message": "got"}, "position": [260, 0]},
    ], [{"source": "guard", "source_port": "value", "target": "done", "target_port": "value"}]))
    assert run_and_wait(qtbot, win, "actionRun")["status"] == "failed"
    failed = tree(win, "stateFailed")
    assert top_texts(failed) == ["guard"] and top_texts(tree(win, "stateView")) == []
    monkeypatch.setattr(QInputDialog, "getMultiLineText", lambda *a, **k: ("42", True))
    failed.itemDoubleClicked.emit(failed.topLevelItem(0), 0)
    qtbot.waitUntil(lambda: top_texts(tree(win, "stateView")) == ["guard"])
    assert not failed.isVisible()
    state = run_and_wait(qtbot, win, "actionContinue")
    assert state["status"] == "completed" and state["outputs"]["done"] == {"value": 42}


def test_time_travel_and_fork_from_an_earlier_checkpoint(debug_window: MainWindow, qtbot: Any,
                                                         chain: Path, shot: Any) -> None:
    win = debug_window
    win.open_workflow(chain)
    win.scene.toggle_breakpoint("b")  # no breakpoint: run to the end
    first = run_and_wait(qtbot, win, "actionRun")
    assert first["status"] == "completed"
    checkpoints = tree(win, "checkpointList")
    assert checkpoints.topLevelItemCount() == 5
    checkpoints.setCurrentItem(checkpoints.topLevelItem(1))  # after 'a' completed
    qtbot.waitUntil(lambda: top_texts(tree(win, "stateView")) == ["a"])
    assert statuses(win) == {"a": "done", "b": None, "c": None, "d": None}
    assert "time travel" in win.debugger.state_view.caption.text()
    shot(win, "debug-time-travel")
    fork_button = win.findChild(QPushButton, "forkButton")
    assert fork_button.isEnabled()
    with qtbot.waitSignal(win.debugger.bridge.finished, timeout=RUN_TIMEOUT) as blocker:
        fork_button.click()
    forked = blocker.args[0]
    assert forked["run_id"] != first["run_id"] and forked["status"] == "completed"
    runs = {r["id"]: r for r in api.runs(db=win.db)}
    assert runs[forked["run_id"]]["parent_run"] == first["run_id"]
    assert win.debugger.run_id == forked["run_id"]
    assert api.state(first["run_id"], db=win.db)["outputs"] == first["outputs"]
    qtbot.waitUntil(lambda: tree(win, "runsList").topLevelItemCount() == 2)
    settle(qtbot, win)
    assert not fork_button.isEnabled()  # the new run's list has no checkpoint chosen yet
    assert tree(win, "checkpointList").topLevelItemCount() == len(api.checkpoints(forked["run_id"],
                                                                                  db=win.db))
    # Open the first run again from the Runs list: every panel shows it.
    runs_list = tree(win, "runsList")
    original = next(runs_list.topLevelItem(i) for i in range(runs_list.topLevelItemCount())
                    if runs_list.topLevelItem(i).text(0) == first["run_id"])
    runs_list.itemActivated.emit(original, 0)
    settle(qtbot, win)
    assert win.debugger.run_id == first["run_id"]
    assert top_texts(tree(win, "stateView")) == ["a", "b", "c", "d"]
    assert tree(win, "checkpointList").topLevelItemCount() == 5
    assert tree(win, "historyView").topLevelItemCount() == len(api.history(first["run_id"], db=win.db))


def test_edit_and_continue_reruns_only_stale_nodes(debug_window: MainWindow, qtbot: Any, chain: Path,
                                                   tmp_path: Path, shot: Any) -> None:
    win = debug_window
    data = json.loads(chain.read_text(encoding="utf-8"))
    data["nodes"][1]["breakpoint"] = False
    data["nodes"][3]["breakpoint"] = True  # pause before d: a, b, c done
    chain.write_text(json.dumps(data), encoding="utf-8")
    win.open_workflow(chain)
    state = run_and_wait(qtbot, win, "actionRun")
    assert state["completed"] == ["a", "b", "c"]
    win.scene.select_only(["b"])
    spin = win.findChild(QWidget, "inspector").findChild(QWidget, "input:b")
    spin.setValue(4)
    assert win.document.workflow.nodes["b"].params["b"] == 4
    qtbot.waitUntil(lambda: win.scene.node_items["c"].status == "stale")
    assert win.scene.node_items["b"].status == "stale"
    assert win.scene.node_items["a"].status == "done"
    shot(win, "debug-stale")
    before = len(api.history(state["run_id"], db=win.db))
    state = run_and_wait(qtbot, win, "actionContinue")
    assert state["status"] == "completed" and state["outputs"]["d"] == {"value": 9}
    started = [e["node"] for e in api.history(state["run_id"], db=win.db)[before:]
               if e["event"] == "node_started"]
    assert sorted(started) == ["b", "c", "d"]


def test_cleanup_dialog_counts_what_it_deletes(debug_window: MainWindow, qtbot: Any, chain: Path,
                                               shot: Any) -> None:
    win = debug_window
    win.open_workflow(chain)
    win.scene.toggle_breakpoint("b")
    run_and_wait(qtbot, win, "actionRun")
    run_and_wait(qtbot, win, "actionRun")
    total = sum(len(api.checkpoints(r["id"], db=win.db)) for r in api.runs(db=win.db))
    assert total == 10
    dialog = win.debugger.open_cleanup()
    qtbot.addWidget(dialog)
    dialog.keep.setValue(2)
    assert dialog.planned["deleted"] == 6
    assert "6 checkpoints" in dialog.preview.text()
    shot(dialog, "cleanup-dialog")
    result = dialog.apply()
    assert result["deleted"] == 6
    left = sum(len(api.checkpoints(r["id"], db=win.db)) for r in api.runs(db=win.db))
    assert left == total - 6
    qtbot.waitUntil(lambda: tree(win, "checkpointList").topLevelItemCount() == 2)


def test_gui_stays_responsive_and_pause_cuts_a_delay_short(debug_window: MainWindow, qtbot: Any,
                                                           tmp_path: Path, shot: Any) -> None:
    win = debug_window
    win.open_workflow(write_flow(tmp_path / "slow.flow.json", [
        {"id": "start", "type": "constant", "params": {"value": 1}, "position": [0, 0]},
        {"id": "wait", "type": "delay", "params": {"seconds": 60}, "position": [260, 0]},
        {"id": "after", "type": "log", "params": {"message": "late"}, "position": [520, 0]},
    ], [
        {"source": "start", "source_port": "value", "target": "wait", "target_port": "value"},
        {"source": "wait", "source_port": "value", "target": "after", "target_port": "value"},
    ]))
    ticks: list[int] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    action(win, "actionRun").trigger()
    qtbot.waitUntil(lambda: win.scene.node_items["wait"].status == "running", timeout=RUN_TIMEOUT)
    assert action(win, "actionPause").isEnabled() and not action(win, "actionRun").isEnabled()
    ticks.clear()
    qtbot.waitUntil(lambda: len(ticks) >= 20)  # the GUI thread keeps handling timers
    shot(win, "debug-running")
    with qtbot.waitSignal(win.debugger.bridge.finished, timeout=RUN_TIMEOUT) as blocker:
        action(win, "actionPause").trigger()
    timer.stop()
    assert blocker.args[0]["status"] == "paused"
    assert blocker.args[0]["next"] == ["wait"]
    qtbot.waitUntil(lambda: not win.debugger.bridge.busy)
    assert action(win, "actionContinue").isEnabled()


def test_stop_cancels_and_the_run_can_be_resumed(debug_window: MainWindow, qtbot: Any,
                                                 tmp_path: Path) -> None:
    win = debug_window
    win.open_workflow(write_flow(tmp_path / "stop.flow.json", [
        {"id": "wait", "type": "delay", "params": {"seconds": 60}, "position": [0, 0]},
    ]))
    action(win, "actionRun").trigger()
    qtbot.waitUntil(lambda: win.scene.node_items["wait"].status == "running", timeout=RUN_TIMEOUT)
    with qtbot.waitSignal(win.debugger.bridge.finished, timeout=RUN_TIMEOUT) as blocker:
        action(win, "actionStop").trigger()
    assert blocker.args[0]["status"] == "cancelled"


def test_interrupted_run_is_offered_after_its_process_is_killed(qtbot: Any, tmp_path: Path,
                                                                shot: Any) -> None:
    db = str(tmp_path / "crash.db")
    flow = write_flow(tmp_path / "crash.flow.json", [
        {"id": "first", "type": "constant", "params": {"value": 1}, "position": [0, 0]},
        {"id": "wait", "type": "delay", "params": {"seconds": 120}, "position": [260, 0]},
    ], [{"source": "first", "source_port": "value", "target": "wait", "target_port": "value"}])
    assert api.runs(db=db) == []  # create the database first: the child and this test share it
    child = subprocess.Popen([sys.executable, "-m", "studio", "run", str(flow), "--db", db],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def delay_started() -> bool:
            assert child.poll() is None, "the child process ended early"
            runs = api.runs(db=db)
            return bool(runs) and any(e["event"] == "node_started" and e["node"] == "wait"
                                      for e in api.history(runs[0]["id"], db=db))

        qtbot.waitUntil(delay_started, timeout=RUN_TIMEOUT)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    win = MainWindow(db=db)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    win.open_workflow(flow)
    bar = win.findChild(QWidget, "interruptedBar")
    qtbot.waitUntil(bar.isVisible)
    run_id = api.runs(db=db)[0]["id"]
    assert api.runs(db=db)[0]["status"] == "interrupted"
    assert run_id in win.findChild(QWidget, "interruptedText").text()
    shot(win, "interrupted-bar")
    win.findChild(QPushButton, "interruptedInspect").click()
    settle(qtbot, win)
    assert win.debugger.run_id == run_id
    assert top_texts(tree(win, "stateView")) == ["first"]
    # Still offered while inspected (Continue is only for paused or failed runs), now to resume it.
    assert bar.isVisible() and "shown below" in win.findChild(QWidget, "interruptedText").text()
    assert not win.findChild(QPushButton, "interruptedInspect").isVisible()
    other = MainWindow(db=db)
    qtbot.addWidget(other)
    other.show()
    other.open_workflow(flow)
    other_bar = other.findChild(QWidget, "interruptedBar")
    qtbot.waitUntil(other_bar.isVisible)
    other.findChild(QPushButton, "interruptedDiscard").click()
    assert not other_bar.isVisible()
    other.debugger.refresh()
    settle(qtbot, other)
    assert not other_bar.isVisible()
    # Discarded means "do not offer it on start"; the window inspecting it still offers Resume.
    win.debugger.refresh()
    settle(qtbot, win)
    assert bar.isVisible()
    win.findChild(QPushButton, "interruptedResume").click()
    qtbot.waitUntil(lambda: win.scene.node_items["wait"].status == "running", timeout=RUN_TIMEOUT)
    assert not bar.isVisible()
    with qtbot.waitSignal(win.debugger.bridge.finished, timeout=RUN_TIMEOUT) as blocker:
        action(win, "actionStop").trigger()
    assert blocker.args[0]["run_id"] == run_id and blocker.args[0]["completed"] == ["first"]
    settle(qtbot, win)


def test_settings_choose_the_database(window: MainWindow, qtbot: Any, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STUDIO_DB")
    window._explicit_db = None
    dialog = window.open_settings()
    qtbot.addWidget(dialog)
    target = str(tmp_path / "chosen.db")
    dialog.database.setText(target)
    assert dialog.executor.currentText() == "local"
    dialog.save()
    assert window.db == target
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.db == target  # remembered for the next start


def test_panels_refresh_live_while_a_run_goes_on(debug_window: MainWindow, qtbot: Any,
                                                 tmp_path: Path) -> None:
    win = debug_window
    nodes = [{"id": "n0", "type": "constant", "params": {"value": 0}, "position": [0, 0]}]
    edges = []
    for i in range(1, 30):
        nodes.append({"id": f"n{i}", "type": "math", "params": {"op": "add", "b": 1},
                      "position": [260 * i, 0]})
        edges.append({"source": f"n{i - 1}", "source_port": "value" if i == 1 else "result",
                      "target": f"n{i}", "target_port": "a"})
    nodes.append({"id": "wait", "type": "delay", "params": {"seconds": 60}, "position": [0, 200]})
    edges.append({"source": "n29", "source_port": "result", "target": "wait", "target_port": "value"})
    win.open_workflow(write_flow(tmp_path / "long.flow.json", nodes, edges))
    action(win, "actionRun").trigger()
    # While the delay holds the run, every panel already shows the 30 finished nodes.
    qtbot.waitUntil(lambda: tree(win, "stateView").topLevelItemCount() == 30, timeout=RUN_TIMEOUT)
    qtbot.waitUntil(lambda: tree(win, "checkpointList").topLevelItemCount() == 31, timeout=RUN_TIMEOUT)
    qtbot.waitUntil(lambda: win.scene.node_items["wait"].status == "running", timeout=RUN_TIMEOUT)
    assert win.debugger.bridge.busy
    assert not action(win, "actionContinue").isEnabled() and not action(win, "actionStep").isEnabled()
    assert top_texts(tree(win, "stateView"))[:3] == ["n0", "n1", "n2"]
    with qtbot.waitSignal(win.debugger.bridge.finished, timeout=RUN_TIMEOUT):
        action(win, "actionStop").trigger()
    settle(qtbot, win)
    run_id = win.debugger.run_id
    assert run_id is not None
    # Live rows and reloaded rows together: still exactly one row per event.
    history = [tree(win, "historyView").topLevelItem(i).text(0)
               for i in range(tree(win, "historyView").topLevelItemCount())]
    assert history == [str(e["seq"]) for e in api.history(run_id, db=win.db)]
    assert tree(win, "checkpointList").topLevelItemCount() == len(api.checkpoints(run_id, db=win.db))
    # Cancelled is resumable but not paused or failed: Continue and Step stay off.
    assert not action(win, "actionContinue").isEnabled() and not action(win, "actionStep").isEnabled()


def test_run_to_here_from_the_canvas_context_menu(debug_window: MainWindow, qtbot: Any,
                                                  chain: Path) -> None:
    win = debug_window
    win.open_workflow(chain)
    win.scene.toggle_breakpoint("b")  # no breakpoint: only "run to here" stops the run
    win.scene.select_only(["c"])
    menu = win.build_context_menu(win.scene.node_items["c"].scenePos(), "c")
    run_to_here = action(win, "actionRunToHere")
    assert run_to_here in menu.actions() and run_to_here.isEnabled()
    with qtbot.waitSignal(win.debugger.bridge.finished, timeout=RUN_TIMEOUT) as blocker:
        run_to_here.trigger()
    settle(qtbot, win)
    state = blocker.args[0]
    assert state["status"] == "paused" and state["completed"] == ["a", "b", "c"] and state["next"] == ["d"]
    assert top_texts(tree(win, "stateView")) == ["a", "b", "c"]
    assert win.scene.node_items["d"].status == "paused"
    assert action(win, "actionContinue").isEnabled() and action(win, "actionStep").isEnabled()
    state = run_and_wait(qtbot, win, "actionContinue")
    assert state["status"] == "completed" and state["run_id"] == blocker.args[0]["run_id"]
