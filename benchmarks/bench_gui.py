"""Does the GUI keep up? A 1,000-node chain run headless vs in the real main window.

Run by hand:  QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--nodes 1000] [--open-nodes 5000]

Every figure comes from this one process on this machine: the headless run
(``studio.api.run``) is the baseline, then the same workflow is opened in the real
main window (offscreen) and run through its Run action. A 5 ms QTimer on the GUI
thread measures how long the GUI thread was busy between two of its ticks.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_checkpoints import chain_file  # noqa: E402  (the same chain: constant, then "add 1"s)

from studio import api  # noqa: E402

GAP_LIMIT_MS = 50.0


class GapMeter:
    """A 5 ms timer on the GUI thread; records the time between consecutive ticks."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.setTimerType(self.timer.timerType().PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last = 0.0

    def start(self) -> None:
        self.gaps = []
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000)
        self._last = now

    @property
    def worst(self) -> float:
        return max(self.gaps, default=0.0)

    def over(self, limit: float = GAP_LIMIT_MS) -> int:
        return sum(1 for g in self.gaps if g > limit)


def wait_until(app: Any, done: Any, timeout: float = 300.0) -> None:
    """Run the GUI's event loop until ``done()`` holds (never sleeps on the GUI thread)."""
    from PySide6.QtCore import QEventLoop

    deadline = time.perf_counter() + timeout
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError("the window did not get there in time")
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 5)


def line(name: str, value: str, target: str, ok: bool) -> None:
    print(f"  {name:<46} {value:>12}   target {target:<8} {'ok' if ok else 'MISSED'}")


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def gui_run(app: Any, window: Any, nodes: int, db: Path) -> dict[str, Any]:
    """Trigger the window's Run action; time until the run is shown completed, GUI-thread gaps."""
    from PySide6.QtGui import QAction

    debugger = window.debugger
    wait_until(app, debugger.settled)
    run_action = window.findChild(QAction, "actionRun")
    assert run_action is not None
    meter = GapMeter()
    meter.start()
    start = time.perf_counter()
    run_action.trigger()
    before = debugger.run_id

    def shown_completed() -> bool:
        return (debugger.run_id != before and debugger.status == "completed" and debugger.settled()
                and debugger.checkpoint_list.tree.topLevelItemCount() > nodes)

    wait_until(app, shown_completed)
    elapsed = time.perf_counter() - start
    meter.stop()
    run_id = debugger.run_id or ""
    rows_ok = (debugger.checkpoint_list.ids() == [cp["id"] for cp in api.checkpoints(run_id, db=db)]
               and debugger.history_view.seqs() == [ev["seq"] for ev in api.history(run_id, db=db)])
    return {"time": elapsed, "worst": meter.worst, "over": meter.over(), "rows_ok": rows_ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--open-nodes", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind; medians are shown")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for sub in ("headless", "gui", "big"):
            (folder / sub).mkdir()
        headless_flow = chain_file(folder / "headless", args.nodes)
        gui_flow = chain_file(folder / "gui", args.nodes)
        big_flow = chain_file(folder / "big", args.open_nodes)

        from PySide6.QtWidgets import QApplication

        from studio.ui import MainWindow
        from studio.ui.app import apply_look

        app = QApplication.instance() or QApplication([])
        apply_look(app)
        window = MainWindow(db=str(folder / "gui.db"))
        window.resize(1400, 900)
        window.show()
        window.open_workflow(gui_flow)

        headless: list[float] = []
        runs: list[dict[str, Any]] = []
        for _ in range(args.repeat):  # interleaved, so that both see the same machine
            start = time.perf_counter()
            state = api.run(headless_flow, db=folder / "headless.db")
            headless.append(time.perf_counter() - start)
            assert state["status"] == "completed", state["status"]
            runs.append(gui_run(app, window, args.nodes, folder / "gui.db"))

        meter = GapMeter()
        opened: list[float] = []
        open_gaps: list[float] = []
        for _ in range(args.repeat):
            window.open_workflow(gui_flow)
            wait_until(app, window.debugger.settled)
            meter.start()
            start = time.perf_counter()
            window.open_workflow(big_flow)
            wait_until(app, window.debugger.settled)
            app.processEvents()
            opened.append(time.perf_counter() - start)
            meter.stop()
            open_gaps.append(meter.worst)
        window.close()

    base, in_gui = median(headless), median([r["time"] for r in runs])
    ratio = in_gui / base
    worst = median([r["worst"] for r in runs])
    over = median([r["over"] for r in runs])
    rows_ok = all(r["rows_ok"] for r in runs)
    times = ", ".join(f"{r['time']:.2f}" for r in runs)
    worsts = ", ".join(f"{r['worst']:.0f}" for r in runs)
    overs = ", ".join(str(r["over"]) for r in runs)
    open_time = median(opened)
    print(f"GUI benchmark: {args.nodes:,}-node chain (constant, then math add), one process, "
          f"median of {args.repeat}")
    print(f"  {'headless run (studio.api.run)':<46} {base:>10.2f} s   "
          f"(all: {', '.join(f'{t:.2f}' for t in headless)})")
    print(f"  {'run in the window, until shown completed':<46} {in_gui:>10.2f} s   "
          f"(all: {times})")
    line("ratio window / headless", f"{ratio:.2f}x", "<= 1.5x", ratio <= 1.5)
    line("worst GUI-thread gap during the run", f"{worst:.0f} ms", "< 50 ms", worst < GAP_LIMIT_MS)
    print(f"  {'':<46} {'':>12}   (all: {worsts} ms)")
    line("GUI-thread gaps > 50 ms during the run", f"{over}", "0", over == 0)
    print(f"  {'':<46} {'':>12}   (all: {overs})")
    line("checkpoint and history rows equal the store", "yes" if rows_ok else "no", "yes", rows_ok)
    line(f"open a {args.open_nodes:,}-node workflow", f"{open_time:.2f} s", "< 1 s", open_time < 1.0)
    print(f"  {'(worst GUI-thread gap while opening)':<46} {median(open_gaps):>9.0f} ms")


if __name__ == "__main__":
    main()
