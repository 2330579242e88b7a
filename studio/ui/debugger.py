"""The debugger: run, pause, step, continue, inspect and edit state, time travel, fork, cleanup."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QInputDialog, QToolBar

from studio import api
from studio.errors import StudioError
from studio.model.workflow import Workflow
from studio.ui import theme
from studio.ui.bridge import Loader, RunBridge
from studio.ui.canvas.items import short_value
from studio.ui.cleanup_dialog import CleanupDialog
from studio.ui.compare import same
from studio.ui.debug_panels import (
    CheckpointList,
    HistoryView,
    InterruptedBar,
    RunLog,
    RunsList,
    StateView,
)
from studio.ui.run_snapshot import RESUMABLE, Snapshot
from studio.ui.table_view import (
    PREVIEW_ROWS,
    TableEditor,
    TableModel,
    TableOutput,
    apply_edits,
    read_rows,
    shape_text,
)

if TYPE_CHECKING:
    from studio.ui.main_window import MainWindow

log = logging.getLogger("studio.ui")
#: While a run goes on, the state is reread from the store (off the GUI thread) at most this
#: often, and rarer as rereading takes longer: a reread of a long run's state competes with
#: the run itself (and the GUI thread) for Python, so it gets at most about a fifth of the time.
LIVE_REFRESH_MS = 250
LIVE_REFRESH_SHARE = 5



class Debugger(QObject):
    """Owns the run actions and panels of a main window and the run shown in them."""

    refreshed = Signal()  # the panels show a fresh load from the store

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.bridge = RunBridge(self)
        self.loader = Loader(self)
        self.loader.loaded.connect(self._loaded)
        self.table_loader = Loader(self)  # reads (and writes) whole tables for edits, off the GUI thread
        self.table_loader.loaded.connect(self._table_job_done)
        self._table_jobs = (0, 0)  # requested, done (the loader keeps only the newest waiting job)
        self.value_editor: TableEditor | None = None
        self._generation = 0
        self._applied = 0
        self.run_id: str | None = None
        self.status: str | None = None
        self.state: dict[str, Any] | None = None
        self.checkpoint: str | None = None  # the checkpoint shown (None: the latest)
        self.running: set[str] = set()
        #: Node statuses the shown run's live events set, newest last (overlaid on the loaded state).
        self._live_status: dict[str, tuple[str | None, str]] = {}
        self._events_have_checkpoints = False  # the engine sends each checkpoint with its events
        self._edge_tips: dict[int, tuple[Any, Any, Any]] = {}  # edge item id -> (value, table, item)
        self._tips_state: dict[str, Any] | None = None  # the state the edge tooltips were made from
        #: (a state, the nodes whose outputs the state shown next has unchanged from it)
        self._unchanged: tuple[dict[str, Any] | None, frozenset[str]] = (None, frozenset())
        self.paused_before: list[str] = []
        self.stale: list[str] = []
        self._adopt_next_run = False
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(LIVE_REFRESH_MS)
        self._refresh_timer.timeout.connect(self._live_refresh)
        self._stale_timer = QTimer(self)
        self._stale_timer.setSingleShot(True)
        self._stale_timer.setInterval(150)
        self._stale_timer.timeout.connect(self._update_stale)
        self._build_panels()
        self._build_actions()
        self.bridge.events.connect(self._on_events)
        self.bridge.finished.connect(self._on_finished)
        self.bridge.failed.connect(self._on_failed)
        window.scene.selectionChanged.connect(self._canvas_selection)
        self.update_actions()

    # -- construction ------------------------------------------------------------------

    def _dock(self, title: str, name: str, widget: Any) -> QDockWidget:
        dock = QDockWidget(title, self.window)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.window.view_menu.addAction(dock.toggleViewAction())
        return dock

    def _build_panels(self) -> None:
        self.state_view = StateView()
        self.checkpoint_list = CheckpointList()
        self.history_view = HistoryView()
        self.run_log = RunLog()
        self.runs_list = RunsList()
        self.interrupted_bar = InterruptedBar()
        self.checkpoints_dock = self._dock("Checkpoints", "checkpointsDock", self.checkpoint_list)
        self.state_dock = self._dock("Captured state", "stateDock", self.state_view)
        self.history_dock = self._dock("History", "historyDock", self.history_view)
        self.log_dock = self._dock("Run log", "runLogDock", self.run_log)
        self.runs_dock = self._dock("Runs", "runsDock", self.runs_list)
        w = self.window
        w.splitDockWidget(self.checkpoints_dock, self.state_dock, Qt.Orientation.Horizontal)
        w.splitDockWidget(self.state_dock, self.history_dock, Qt.Orientation.Horizontal)
        w.tabifyDockWidget(self.history_dock, self.log_dock)
        w.tabifyDockWidget(self.log_dock, self.runs_dock)
        self.history_dock.raise_()
        w.resizeDocks([self.checkpoints_dock, self.state_dock, self.history_dock], [330, 520, 420],
                      Qt.Orientation.Horizontal)
        w.resizeDocks([self.state_dock], [260], Qt.Orientation.Vertical)
        self.checkpoint_list.chosen.connect(self.show_checkpoint)
        self.checkpoint_list.fork_requested.connect(self.fork)
        self.state_view.edit_requested.connect(self._ask_value)
        self.state_view.table_edit_requested.connect(self.edit_table)
        self.state_view.failed_edit_requested.connect(self._ask_failed_output)
        self.runs_list.itemActivated.connect(lambda item, _c: self.show_run(item.text(0)))
        self.runs_list.itemClicked.connect(
            lambda item, _c: item.text(0) != self.run_id and self.show_run(item.text(0)))
        self.interrupted_bar.resume_requested.connect(self._resume_interrupted)
        self.interrupted_bar.inspect_requested.connect(self._inspect_interrupted)
        self.interrupted_bar.discard_requested.connect(self._discard_interrupted)

    def _action(self, name: str, text: str, slot: Any, shortcut: str | None, icon: str | None,
                tip: str) -> QAction:
        action = QAction(text, self.window)
        action.setObjectName(name)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if icon:
            action.setIcon(theme.icon(icon))
        action.setToolTip(f"{tip} ({shortcut})" if shortcut else tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.action_run = a("actionRun", "&Run", self.run, "F5", "run", "Run the workflow")
        self.action_run_inputs = a("actionRunWithInputs", "Run with &Inputs…", self.run_with_inputs,
                                   None, None, "Run with other values for the workflow's inputs")
        self.action_continue = a("actionContinue", "&Continue", self.resume, None, "continue",
                                 "Continue the paused or failed run")
        self.action_step = a("actionStep", "&Step", self.step, "F10", "step", "Run exactly one more node")
        self.action_pause = a("actionPause", "&Pause", self.bridge.pause, None, "pause",
                              "Pause at the next node boundary")
        self.action_stop = a("actionStop", "S&top", self.bridge.stop, "Shift+F5", "stop",
                             "Stop the run (it can be resumed later)")
        self.action_run_to_here = a("actionRunToHere", "Run to &Here", self.run_to_here, None,
                                    "run-to-here", "Run until the selected node has completed")
        self.action_cleanup = a("actionCleanup", "Clean &Up Checkpoints…", self.open_cleanup, None,
                                "cleanup", "Delete old checkpoints to free space")
        menu = self.window.menuBar().addMenu("&Run")
        menu.addActions([self.action_run, self.action_run_inputs, self.action_continue, self.action_step,
                         self.action_pause, self.action_stop, self.action_run_to_here])
        menu.addSeparator()
        menu.addActions([self.window.action_toggle_breakpoint, self.action_cleanup])
        bar = QToolBar("Run", self.window)
        bar.setObjectName("runToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.addActions([self.action_run, self.action_continue, self.action_step, self.action_pause,
                        self.action_stop, self.window.action_toggle_breakpoint])
        self.window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)

    # -- what is shown -------------------------------------------------------------------

    def labels(self) -> dict[str, str]:
        return {n.id: n.title for n in self.window.document.workflow.nodes.values()}

    def document_changed(self) -> None:
        """A new document is shown: forget the run, list the document's runs."""
        self._edge_tips = {}
        if not self.bridge.busy:
            self.run_id = None
            self.state = None
            self.status = None
        self.window.document.model_event.connect(lambda *_: self._stale_timer.start())
        self.refresh()

    def show_run(self, run_id: str) -> None:
        if run_id != self.run_id and not self.bridge.busy:
            self.status = None  # unknown until loaded: Continue and Step wait for it
        self.run_id = run_id
        self.checkpoint = None
        self.running.clear()
        self.checkpoint_list.tree.clearSelection()
        self.update_actions()
        self.refresh()

    def show_checkpoint(self, checkpoint_id: str | None) -> None:
        """Time travel: show the state (and canvas colours) as of ``checkpoint_id``."""
        self.checkpoint = checkpoint_id
        self.update_actions()
        self.refresh()

    def refresh(self) -> None:
        """Reload the shown run from the store (on a worker thread) into every panel and the canvas."""
        self._generation += 1
        stale_check = (self.run_id is not None and self.status in RESUMABLE + (None,)
                       and not self.bridge.busy)
        live = self.bridge.busy and self.checkpoint is None
        request = Snapshot(
            generation=self._generation, db=self.window.db, run_id=self.run_id,
            checkpoint=self.checkpoint, path=self.window.document.path,
            workflow=self.window.document.workflow.copy() if stale_check else None,
            # While a run goes on its events bring the history (and, usually, the checkpoints).
            with_checkpoints=not (live and self._events_have_checkpoints), with_history=not live,
            previous=self.state if self.checkpoint is None else None,
        )
        self.loader.request(request.load)

    def _live_refresh(self) -> None:
        """The live reread: one at a time (a read still under way makes the next one wait)."""
        if self._applied != self._generation and self.bridge.busy:
            self._refresh_timer.start()
            return
        self.refresh()

    def settled(self) -> bool:
        """Nothing is running or waiting to be loaded: the panels show the store as it is."""
        return (not self.bridge.busy and not self._refresh_timer.isActive()
                and not self._stale_timer.isActive() and self._applied == self._generation
                and self._table_jobs[0] == self._table_jobs[1])

    def _loaded(self, result: Snapshot | Exception) -> None:
        started = time.perf_counter()
        self._apply(result)
        if isinstance(result, Snapshot) and self.bridge.busy:
            spent = result.seconds + time.perf_counter() - started
            self._refresh_timer.setInterval(max(LIVE_REFRESH_MS, int(spent * 1000 * LIVE_REFRESH_SHARE)))

    def _apply(self, result: Snapshot | Exception) -> None:
        if isinstance(result, Exception):
            self.run_log.line(f"error: {result}")
            self._applied = self._generation
            return
        if result.run_id != self.run_id or result.checkpoint != self.checkpoint:
            return  # shown something else meanwhile; its own load is on the way
        self._applied = result.generation
        labels = self.labels()
        mine = [r for r in result.runs if result.path is not None and r["workflow"] == str(result.path)]
        self.runs_list.fill(mine, self.run_id)
        self.offer_interrupted(result.runs)
        if result.error:
            self.run_log.line(f"error: {result.error}")
        if self.run_id is None or result.shown is None:
            if self.run_id is None:
                self.state = None
                hint = "No run shown: press Run (F5)"
                if mine:
                    hint += f", or open one of this workflow's {len(mine)} earlier runs in the Runs tab"
                self.state_view.show_state(None, hint + ".", labels, db=self.window.db)
                self.checkpoint_list.fill([], labels)
                self.history_view.fill([], None)
                self._colour()
                self.update_actions()
            self.refreshed.emit()
            return
        if not self.bridge.busy:
            self.status = result.status
        shown = result.shown
        # Which nodes' outputs the worker found unchanged since the state shown so far.
        self._unchanged = (result.previous, result.unchanged)
        self.state = shown
        # A read made while the run went on may be behind the rows its events already added.
        partial = self.bridge.busy or result.generation != self._generation
        if result.with_checkpoints:
            self.checkpoint_list.fill(result.checkpoints, labels, partial=partial)
        if result.with_history:
            self.paused_before = result.paused_before
            self.history_view.fill(result.history, self.run_id)
        if self.checkpoint is None:
            caption = f"Run {self.run_id} · {self.status} · latest"
        else:
            caption = (f"Run {self.run_id} · as it was at checkpoint {shown['seq']} (time travel; "
                       f"the run is now {shown['status']}: “Show latest” goes back)")
        if shown.get("errors"):
            caption += " · failed: " + ", ".join(shown["errors"])  # the errors are listed below
        self.state_view.show_state(shown, caption, labels, db=self.window.db, unchanged=self._unchanged)
        if result.stale is not None:
            self.stale = result.stale
        elif self.status not in RESUMABLE:
            self.stale = []
        self._colour()
        self.update_actions()
        self.refreshed.emit()

    def _colour(self, starting: bool = False) -> None:
        """Colour the canvas by the shown state; hovering an edge previews its value.

        ``starting``: a job is about to start (and counts as going).
        """
        scene = self.window.scene
        statuses: dict[str, tuple[str | None, str]] = {}
        state = self.state
        live = self.checkpoint is None
        busy = starting or self.bridge.busy
        # While a run goes on, its events colour the nodes (``_on_events``); a read of the
        # store adds nothing newer, so only the edges' tooltips are brought up to date.
        nodes = starting or not (live and busy)
        if state is not None:
            errors = state.get("errors") or {}
            for node in state.get("completed", []):
                statuses[node] = ("done", "")
            for node in state.get("skipped", []):
                statuses[node] = ("skipped", "skipped: its input was not produced")
            for node in state.get("failed", []):
                statuses[node] = ("failed", f"failed: {errors.get(node, '')}")
            if live and busy:
                for node in scene.node_items:
                    statuses.setdefault(node, ("queued", ""))
                statuses.update(self._live_status)  # the events are newer than any read
            elif live and self.status == "paused":
                for node in self.paused_before or state.get("next", []):
                    statuses[node] = ("paused", "the run is paused before this node")
            if live and not busy:
                for node in self.stale:
                    statuses[node] = ("stale", "changed since it ran: Continue runs it again")
        if nodes:
            scene.set_node_status(statuses)
        outputs = (state or {}).get("outputs") or {}
        tables = (state or {}).get("tables") or {}
        tips = self._edge_tips
        missing = object()
        previous, unchanged = self._unchanged
        if state is None or previous is not self._tips_state:
            unchanged = frozenset()
        self._tips_state = state
        for item in scene.edge_items:
            edge = item.edge
            known = tips.get(id(item))
            if known is not None and known[2] is item and edge.source in unchanged:
                continue  # its source's outputs are those of the state the tooltip was made from
            value = outputs.get(edge.source, {}).get(edge.source_port, missing)
            table = tables.get(f"{edge.source}.{edge.source_port}")
            if known is not None and same(known[0], value) and known[1] == table and known[2] is item:
                continue  # the same value as last time: keep its tooltip
            tip = str(edge)
            if table is not None:  # the state holds only its first rows: say how big it is
                tip += (f"\ntable · {shape_text(int(table.get('rows') or 0), len(table.get('columns') or []))}")
            if value is not missing:
                tip += "\n" + short_value(value, 300)
            item.setToolTip(tip)
            tips[id(item)] = (value, table, item)

    def _update_stale(self) -> None:
        """The workflow was edited: find (off the GUI thread) which nodes it made stale."""
        if self.run_id is not None and self.status in RESUMABLE and not self.bridge.busy:
            self.refresh()
        elif self.stale:
            self.stale = []
            self._colour()

    def update_actions(self) -> None:
        busy = self.bridge.busy
        resumable = not busy and self.run_id is not None and self.status in RESUMABLE
        self.action_run.setEnabled(not busy)
        self.action_run_inputs.setEnabled(not busy and bool(self.window.document.workflow.inputs))
        self.action_continue.setEnabled(resumable)
        self.action_step.setEnabled(resumable)
        self.action_pause.setEnabled(busy)
        self.action_stop.setEnabled(busy)
        self.action_run_to_here.setEnabled(not busy and bool(self.window.scene.selected_node_ids()))
        # F5 is Run, or Continue while the shown run is paused or failed.
        self.action_run.setShortcut(QKeySequence() if resumable else QKeySequence("F5"))
        self.action_continue.setShortcut(QKeySequence("F5") if resumable else QKeySequence())
        self.action_run.setToolTip("Run the workflow from the start" + ("" if resumable else " (F5)"))
        self.action_continue.setToolTip("Continue the paused or failed run" + (" (F5)" if resumable else ""))
        self.checkpoint_list.latest_button.setEnabled(self.checkpoint is not None)

    # -- starting jobs -----------------------------------------------------------------

    def _workflow(self) -> Workflow:
        return self.window.document.workflow.copy()

    def _start(self, kind: str, *args: Any, **kwargs: Any) -> None:
        if self.bridge.busy:
            self.window.show_message("A run is still going: pause or stop it first.")
            return
        self._adopt_next_run = kind == "run" or "from_checkpoint" in kwargs
        self.running.clear()
        self._live_status = {}
        self._refresh_timer.setInterval(LIVE_REFRESH_MS)
        self.status = "running"
        self.checkpoint = None
        # Recolour the canvas (every node "queued") before the job's thread competes with the
        # GUI thread for Python: the scene takes in the change of every node here, at once.
        self._colour(starting=True)
        QCoreApplication.sendPostedEvents(self.window.scene, QEvent.Type.MetaCall)
        # The state a job returns carries only the first rows of each table (the panels read the rest).
        self.bridge.start(kind, *args, db=self.window.db, executor=self.window.executor(),
                          rows=PREVIEW_ROWS, **kwargs)
        self.update_actions()

    def _breakpoints(self) -> dict[str, Any]:
        return {"clear_breakpoints": True, "break_before": self.window.document.workflow.breakpoints()}

    def run(self, inputs: dict[str, Any] | None = None, until: str | None = None) -> None:
        self.run_log.line(f"— run of {self.window.document.workflow.name or 'workflow'} —")
        self._start("run", self._workflow(), inputs=inputs, until=until)

    def run_with_inputs(self) -> None:
        current = json.dumps(self.window.document.workflow.inputs or {}, indent=2)
        text, ok = QInputDialog.getMultiLineText(self.window, "Run with inputs",
                                                 "Inputs for this run (a JSON object):", current)
        if not ok:
            return
        try:
            inputs = json.loads(text)
        except json.JSONDecodeError as exc:
            self.window.show_message(f"Not valid JSON: {exc.msg} (line {exc.lineno})")
            return
        if not isinstance(inputs, dict):
            self.window.show_message("Inputs must be a JSON object, like {\"threshold\": 5}.")
            return
        self.run(inputs=inputs)

    def resume(self) -> None:
        if self.run_id is None:
            return
        self._start("resume", self.run_id, workflow=self._workflow(), **self._breakpoints())

    def step(self) -> None:
        if self.run_id is not None:
            self._start("step", self.run_id, workflow=self._workflow())

    def run_to_here(self) -> None:
        node_ids = self.window.scene.selected_node_ids()
        if not node_ids:
            return
        if self.run_id is not None and self.status in RESUMABLE + ("interrupted", "cancelled"):
            self._start("resume", self.run_id, workflow=self._workflow(), until=node_ids[0],
                        **self._breakpoints())
        else:
            self.run(until=node_ids[0])

    def fork(self, checkpoint_id: str, values: dict[str, Any] | None = None) -> None:
        """Resume from an earlier checkpoint: a new run; the original stays as it was."""
        if self.run_id is None:
            return
        self.run_log.line(f"— new run forked from {self.run_id} at checkpoint {checkpoint_id} —")
        self._start("resume", self.run_id, from_checkpoint=checkpoint_id, set=values,
                    workflow=self._workflow(), **self._breakpoints())

    def edit_value(self, path: str, value: Any) -> bool:
        """Change a value in the shown state (``outputs.NODE.PORT`` or ``inputs.NAME``)."""
        if self.run_id is None or self.bridge.busy:
            return False
        if self.checkpoint is not None or self.status == "completed":
            cp = self.checkpoint or (self.state or {}).get("checkpoint_id")
            if cp:
                self.fork(cp, {path: value})
            return True
        try:
            # rows=0: the state it returns is not used; cutting tables keeps big ones from being decoded
            api.edit_state(self.run_id, {path: value}, db=self.window.db, rows=0)
        except StudioError as exc:
            self.window.show_message(str(exc))
            self.run_log.line(f"error: {exc}")
            return False
        self.window.show_message(f"Changed {path}: Continue (F5) goes on with the new value.")
        self.refresh()
        return True

    def _ask_value(self, path: str, value: Any) -> None:
        text, ok = QInputDialog.getMultiLineText(
            self.window, "Change value", f"New value of {path} (JSON; plain text is kept as text):",
            json.dumps(value, indent=2, ensure_ascii=False))
        if not ok:
            return
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = text
        self.edit_value(path, parsed)

    # -- tables in the state -----------------------------------------------------------

    def edit_table(self, table: TableOutput) -> TableEditor:
        """Open a table output's grid editable (``valueEditor``); saving writes one state edit."""
        if self.value_editor is not None:
            self.value_editor.close()
        editor = TableEditor(table, self.window)
        editor.save_requested.connect(self._save_table)
        editor.json_requested.connect(self._table_as_json)
        editor.finished.connect(lambda _r, e=editor: self.value_editor is e and self._forget_editor())
        self.value_editor = editor
        editor.open()
        return editor

    def _forget_editor(self) -> None:
        self.value_editor = None

    def _table_job(self, job: Any) -> None:
        number = self._table_jobs[0] + 1
        self._table_jobs = (number, self._table_jobs[1])

        def numbered() -> tuple[int, Any]:
            try:
                return number, job()
            except Exception as exc:  # noqa: BLE001 - shown to the person, as the loader would
                if not isinstance(exc, StudioError):
                    log.exception("changing a table failed")
                return number, exc

        self.table_loader.request(numbered)

    def _save_table(self, table: TableOutput, model: TableModel) -> None:
        """The table with the grid's changes, as JSON rows, through the same edit path as any value.

        Reading the whole table and writing the edit run on a worker thread; a completed run
        (or an earlier checkpoint) is forked with the new rows, as ``edit_value`` does.
        """
        if self.run_id is None or self.bridge.busy:
            self.window.show_message("A run is still going: pause or stop it before changing values.")
            return
        run_id, db, source = self.run_id, self.window.db, table.source()
        edits, columns = dict(model.edits), list(model.columns)
        fork_from = None
        if self.checkpoint is not None or self.status == "completed":
            fork_from = self.checkpoint or (self.state or {}).get("checkpoint_id")
            if not fork_from:
                return

        def job() -> tuple[str, Any, ...]:
            rows = apply_edits(read_rows(source), edits, columns)
            if fork_from is not None:
                return ("fork", table.path, fork_from, rows)
            api.edit_state(run_id, {table.path: rows}, db=db, rows=0)
            return ("edited", table.path, len(edits))

        self._table_job(job)

    def _table_as_json(self, table: TableOutput) -> None:
        source = table.source()
        self._table_job(lambda: ("json", table.path, read_rows(source)))

    def _table_job_done(self, done: Any) -> None:
        if isinstance(done, Exception):  # not raised by the job itself (it catches its own)
            number, result = self._table_jobs[0], done
        else:
            number, result = done
        self._table_jobs = (self._table_jobs[0], max(self._table_jobs[1], number))
        if isinstance(result, Exception):
            self.window.show_message(str(result))
            self.run_log.line(f"error: {result}")
            return
        kind, path = result[0], result[1]
        if kind == "fork":
            self.fork(result[2], {path: result[3]})
        elif kind == "json":
            self._ask_value(path, result[2])
        else:
            count = result[2]
            self.window.show_message(f"Changed {count} cell{'' if count == 1 else 's'} of {path}: "
                                     "Continue (F5) goes on with the new table.")
            self.refresh()

    def _ask_failed_output(self, node_id: str) -> None:
        """Give a failed node its output by hand: it counts as completed, and Continue goes on."""
        spec = self.window.document.spec_of(node_id)
        ports = [p.name for p in spec.outputs] if spec is not None else []
        if not ports:
            self.window.show_message(f"{node_id} has no output to set: fix its settings and Continue.")
            return
        port = ports[0]
        if len(ports) > 1:
            port, ok = QInputDialog.getItem(self.window, "Set output", f"Which output of {node_id}?",
                                            ports, 0, False)
            if not ok:
                return
        self._ask_value(f"outputs.{node_id}.{port}", None)

    # -- engine events -----------------------------------------------------------------

    def _on_events(self, batch: list[dict[str, Any]]) -> None:
        """A frame's worth of engine events: every panel and the canvas updated once for all of them."""
        shown: list[dict[str, Any]] = []
        lines: list[str] = []
        changed: dict[str, tuple[str | None, str]] = {}
        checkpoints: list[dict[str, Any]] = []
        for ev in batch:
            run_id = ev.get("run_id")
            if self._adopt_next_run and ev["event"] in ("run_started", "forked"):
                self._adopt_next_run = False
                self.run_id = run_id
                self._new_run_shown(run_id)
            if run_id != self.run_id:
                continue
            shown.append(ev)
            kind, node = ev["event"], ev.get("node")
            detail = ev.get("detail") or {}
            if kind == "node_started" and node:
                self.running.add(node)
                changed[node] = ("running", "running…")
            elif kind in ("node_completed", "node_failed", "node_skipped") and node:
                self.running.discard(node)
                changed[node] = {"node_completed": ("done", ""),
                                 "node_skipped": ("skipped", "skipped: its input was not produced"),
                                 "node_failed": ("failed", f"failed: {detail.get('error', '')}")}[kind]
            if kind == "log":
                lines.append(f"{node}: {detail.get('line', '')}")
            elif kind == "node_failed":
                lines.append(f"{node} failed: {detail.get('error', '')}")
            elif kind in ("paused", "run_completed", "run_failed", "run_cancelled", "run_interrupted"):
                reason = detail.get("reason")
                lines.append(kind.replace("_", " ") + (f": {reason}" if reason else ""))
            checkpoint = ev.get("checkpoint")
            if checkpoint:
                self._events_have_checkpoints = True
                if not checkpoints or checkpoints[-1]["id"] != checkpoint["id"]:
                    checkpoints.append(checkpoint)
        if not shown:
            return
        if lines:
            self.run_log.line("\n".join(lines))
        self.history_view.add_events(shown)
        if checkpoints:
            self.checkpoint_list.append(checkpoints, self.labels())
        if changed:
            self._live_status.update(changed)
            if self.checkpoint is None:  # not while an earlier checkpoint is shown (time travel)
                self.window.scene.update_node_status(changed)
        if not self._refresh_timer.isActive():  # reread the state live, at most every interval
            self._refresh_timer.start()

    def _new_run_shown(self, run_id: str | None) -> None:
        """A run this window started is now the shown one: its rows start from empty."""
        self._live_status = {}
        self._events_have_checkpoints = False
        self.history_view.fill([], run_id)
        self.checkpoint_list.fill([], {})

    def _on_finished(self, state: dict[str, Any]) -> None:
        self.run_id = state["run_id"]
        self.status = state["status"]
        self.running.clear()
        self._live_status = {}
        self._refresh_timer.stop()  # this refresh reads everything
        self.update_actions()
        self.refresh()
        self.window.show_message(f"Run {state['run_id']}: {state['status']}")
        self._bring_into_view(state)

    def _bring_into_view(self, state: dict[str, Any]) -> None:
        """Scroll the canvas (not zoom) so that the node a run failed at or paused before shows."""
        wanted = state.get("failed") or (state.get("next") if state.get("status") == "paused" else [])
        items = [self.window.scene.node_items[n] for n in wanted or [] if n in self.window.scene.node_items]
        if items:
            self.window.canvas.ensureVisible(items[0].sceneBoundingRect(), 60, 60)

    def _on_failed(self, message: str) -> None:
        self.running.clear()
        self._live_status = {}
        self._refresh_timer.stop()
        self.status = None if self.run_id is None else self.status
        self.run_log.line(f"error: {message}")
        self.window.show_message(message)
        if self.run_id is not None:
            self.status = None
        self.refresh()

    def _canvas_selection(self) -> None:
        if not shiboken6.isValid(self.window.scene) or not shiboken6.isValid(self.state_view):
            return  # the scene reports a change while it is destroyed with the window
        node_ids = self.window.scene.selected_node_ids()
        if len(node_ids) == 1:
            self.state_view.select_node(node_ids[0])
        self.update_actions()

    # -- interrupted runs and cleanup --------------------------------------------------

    def _dismissed(self) -> set[str]:
        value = self.window.settings.value("dismissedRuns") or []
        return {value} if isinstance(value, str) else set(value)

    def offer_interrupted(self, runs: list[dict[str, Any]]) -> None:
        dismissed = self._dismissed()
        busy = {self.run_id} if self.bridge.busy else set()
        self.interrupted_bar.offer([r for r in runs if r["status"] == "interrupted"
                                    and (r["id"] not in dismissed or r["id"] == self.run_id)
                                    and r["id"] not in busy], self.run_id)

    def _open_run_file(self, run_id: str) -> None:
        run = next((r for r in api.runs(db=self.window.db) if r["id"] == run_id), None)
        path = Path(run["workflow"]) if run and run["workflow"] else None
        if path is not None and path.is_file() and path != self.window.document.path:
            if not self.window.maybe_save():
                return
            self.window.open_workflow(path)
        self.show_run(run_id)

    def _resume_interrupted(self, run_id: str) -> None:
        self._open_run_file(run_id)
        self.interrupted_bar.offer([])
        self.status = "interrupted"
        self._start("resume", run_id, workflow=self._workflow(), **self._breakpoints())

    def _inspect_interrupted(self, run_id: str) -> None:
        self._open_run_file(run_id)

    def _discard_interrupted(self, run_id: str) -> None:
        self.window.settings.setValue("dismissedRuns", sorted(self._dismissed() | {run_id}))
        self.interrupted_bar.offer([])  # at once; the refresh offers the next one, if any
        self.refresh()

    def open_cleanup(self) -> CleanupDialog:
        dialog = CleanupDialog(self.window.db, self.window)
        dialog.cleaned.connect(self.refresh)
        dialog.show()
        return dialog

    def shutdown(self) -> None:
        self.bridge.shutdown()
        self.loader.shutdown()
        self.table_loader.shutdown()
