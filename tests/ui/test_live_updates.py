"""The GUI keeps up with a fast run: events in batches, panels that only add rows, no jumping views."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ui_helpers import RUN_TIMEOUT, action, run_and_wait, settle, tree, write_flow

from studio import api
from studio.ui import MainWindow
from studio.ui.bridge import RunBridge
from studio.ui.debug_panels import CheckpointList, HistoryView

NODES = 120


def chain_flow(path: Path, n: int) -> Path:
    """A constant, then n - 1 nodes adding 1 (as the benchmarks' chain)."""
    nodes: list[dict[str, Any]] = [{"id": "n0", "type": "constant", "params": {"value": 1}}]
    edges = []
    for i in range(1, n):
        nodes.append({"id": f"n{i}", "type": "math", "params": {"op": "add", "b": 1}})
        edges.append({"source": f"n{i - 1}", "source_port": "value" if i == 1 else "result",
                      "target": f"n{i}", "target_port": "a"})
    return write_flow(path, nodes, edges)


@pytest.fixture
def debug_window(window: MainWindow, tmp_path: Path) -> MainWindow:
    window.db = str(tmp_path / "runs.db")
    return window


def shown_checkpoints(win: MainWindow) -> list[str]:
    view = tree(win, "checkpointList")
    return [str(view.topLevelItem(i).toolTip(0)) for i in range(view.topLevelItemCount())]


def shown_history(win: MainWindow) -> list[str]:
    view = tree(win, "historyView")
    return [view.topLevelItem(i).text(0) for i in range(view.topLevelItemCount())]


def test_a_long_run_ends_with_one_row_per_checkpoint_and_per_event(
        debug_window: MainWindow, qtbot: Any, tmp_path: Path) -> None:
    win = debug_window
    win.open_workflow(chain_flow(tmp_path / "long.flow.json", NODES))
    batches: list[list[dict[str, Any]]] = []
    win.debugger.bridge.events.connect(batches.append)
    state = run_and_wait(qtbot, win, "actionRun")
    assert state["status"] == "completed"
    assert state["outputs"][f"n{NODES - 1}"]["result"] == NODES
    run_id = state["run_id"]
    stored = [cp["id"] for cp in api.checkpoints(run_id, db=win.db)]
    assert len(stored) == NODES + 1  # the start, then one per node
    assert shown_checkpoints(win) == stored  # exactly one row each, in order
    history = api.history(run_id, db=win.db)
    assert shown_history(win) == [str(ev["seq"]) for ev in history]
    # The engine's events came in batches, every one of them once and in order.
    received = [ev["seq"] for batch in batches for ev in batch if ev["run_id"] == run_id]
    assert received == [ev["seq"] for ev in history]
    assert all(win.scene.node_items[f"n{i}"].status == "done" for i in range(NODES))
    assert tree(win, "stateView").topLevelItemCount() == NODES


def test_a_second_run_shows_only_its_own_rows(debug_window: MainWindow, qtbot: Any, tmp_path: Path) -> None:
    win = debug_window
    win.open_workflow(chain_flow(tmp_path / "twice.flow.json", 30))
    first = run_and_wait(qtbot, win, "actionRun")
    second = run_and_wait(qtbot, win, "actionRun")
    assert first["run_id"] != second["run_id"] and win.debugger.run_id == second["run_id"]
    assert shown_checkpoints(win) == [cp["id"] for cp in api.checkpoints(second["run_id"], db=win.db)]
    assert shown_history(win) == [str(ev["seq"]) for ev in api.history(second["run_id"], db=win.db)]


def test_refreshing_keeps_the_rows_already_shown(debug_window: MainWindow, qtbot: Any, tmp_path: Path) -> None:
    win = debug_window
    win.open_workflow(chain_flow(tmp_path / "keep.flow.json", 20))
    run_and_wait(qtbot, win, "actionRun")
    checkpoints, history = tree(win, "checkpointList"), tree(win, "historyView")
    first_checkpoint, first_event = checkpoints.topLevelItem(0), history.topLevelItem(0)
    count = checkpoints.topLevelItemCount()
    with qtbot.waitSignal(win.debugger.refreshed, timeout=RUN_TIMEOUT):
        win.debugger.refresh()
    settle(qtbot, win)
    assert checkpoints.topLevelItemCount() == count
    assert checkpoints.topLevelItem(0) is first_checkpoint  # not refilled: the same row
    assert history.topLevelItem(0) is first_event


def test_the_run_actions_come_back_after_a_batched_run(debug_window: MainWindow, qtbot: Any,
                                                       tmp_path: Path) -> None:
    win = debug_window
    win.open_workflow(chain_flow(tmp_path / "actions.flow.json", 10))
    with qtbot.waitSignal(win.debugger.bridge.finished, timeout=RUN_TIMEOUT):
        action(win, "actionRun").trigger()
    qtbot.waitUntil(lambda: action(win, "actionRun").isEnabled(), timeout=RUN_TIMEOUT)
    settle(qtbot, win)
    assert not action(win, "actionStop").isEnabled()
    assert "run completed" in win.findChild(type(win.debugger.run_log), "runLog").toPlainText()


def events(run_id: str, first: int, count: int) -> list[dict[str, Any]]:
    return [{"run_id": run_id, "seq": seq, "time": "2026-01-01T00:00:00.000+00:00", "event": "log",
             "node": "n", "detail": {"line": f"line {seq}"}} for seq in range(first, first + count)]


def test_history_scrolls_with_new_rows_only_when_it_was_at_the_bottom(qtbot: Any) -> None:
    view = HistoryView()
    qtbot.addWidget(view)
    view.resize(400, 200)
    view.show()
    qtbot.waitExposed(view)
    view.fill(events("r", 0, 200), "r")
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    view.scrollToBottom()
    qtbot.waitUntil(lambda: bar.value() == bar.maximum())
    view.add_events(events("r", 200, 50))
    qtbot.waitUntil(lambda: bar.value() == bar.maximum() and view.topLevelItemCount() == 250)
    view.scrollToTop()
    qtbot.waitUntil(lambda: bar.value() == 0)
    view.add_events(events("r", 250, 50) + events("r", 260, 5))  # repeats are skipped
    assert view.topLevelItemCount() == 300
    assert bar.value() == 0  # the person reading the top is left there
    view.add_events(events("other run", 300, 5))
    assert view.topLevelItemCount() == 300
    assert view.seqs() == list(range(300))


def checkpoint(seq: int) -> dict[str, Any]:
    return {"id": f"c-{seq}", "seq": seq, "node": f"n{seq}", "event": "node_completed",
            "created_at": "2026-01-01T00:00:00.000+00:00", "size_bytes": 70}


def test_checkpoint_list_appends_and_rebuilds_only_when_the_store_differs(qtbot: Any) -> None:
    panel = CheckpointList()
    qtbot.addWidget(panel)
    panel.resize(400, 220)
    panel.show()
    qtbot.waitExposed(panel)
    panel.fill([checkpoint(i) for i in range(100)], {})
    view = panel.tree
    first = view.topLevelItem(0)
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    view.scrollToTop()
    qtbot.waitUntil(lambda: bar.value() == 0)
    panel.append([checkpoint(i) for i in range(95, 130)], {})  # a live batch, some already shown
    assert panel.ids() == [f"c-{i}" for i in range(130)]
    assert bar.value() == 0
    panel.fill([checkpoint(i) for i in range(120)], {}, partial=True)  # a read made earlier
    assert panel.ids() == [f"c-{i}" for i in range(130)] and view.topLevelItem(0) is first
    panel.fill([checkpoint(i) for i in range(131)], {})
    assert panel.ids() == [f"c-{i}" for i in range(131)] and view.topLevelItem(0) is first
    panel.fill([checkpoint(i) for i in range(50, 60)], {})  # cleaned up: shown as the store says
    assert panel.ids() == [f"c-{i}" for i in range(50, 60)]


def test_the_bridge_hands_over_events_in_order_in_batches(qtbot: Any, tmp_path: Path) -> None:
    bridge = RunBridge()
    batches: list[list[dict[str, Any]]] = []
    bridge.events.connect(batches.append)
    flow = chain_flow(tmp_path / "bridge.flow.json", 40)
    with qtbot.waitSignal(bridge.finished, timeout=RUN_TIMEOUT) as result:
        assert bridge.start("run", flow, db=tmp_path / "bridge.db")
    # Every event arrived before the result.
    state = result.args[0]
    history = api.history(state["run_id"], db=tmp_path / "bridge.db")
    assert [ev["seq"] for batch in batches for ev in batch] == [ev["seq"] for ev in history]
    assert all(batch for batch in batches)
    assert not bridge.busy
