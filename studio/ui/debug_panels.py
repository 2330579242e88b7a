"""The debugger's panels: captured state, checkpoints, history, run log, runs, interrupted runs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.model.types import is_table
from studio.ui import theme
from studio.ui.canvas.items import short_value
from studio.ui.compare import same
from studio.ui.table_view import FrameTable, TableGrid, TableOutput

PATH_ROLE = Qt.ItemDataRole.UserRole
VALUE_ROLE = Qt.ItemDataRole.UserRole + 1
FAILED_ROLE = Qt.ItemDataRole.UserRole + 2
TABLE_ROLE = Qt.ItemDataRole.UserRole + 3  # a TableOutput: a stored table, shown as a lazy grid
MAX_CHILDREN = 200
#: Short words for checkpoint events, so that the node column keeps its room on small screens.
CHECKPOINT_EVENTS = {"run_started": "start", "forked": "forked", "node_completed": "done",
                     "node_failed": "failed", "node_skipped": "skipped", "state_edited": "edited"}


def clock(iso: str | None) -> str:
    """``2026-11-27T05:24:35.828+00:00`` as local ``05:24:35``."""
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return iso


def human_bytes(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def _tree(name: str, headers: list[str]) -> QTreeWidget:
    tree = QTreeWidget()
    tree.setObjectName(name)
    tree.setHeaderLabels(headers)
    tree.setRootIsDecorated(False)
    tree.setUniformRowHeights(True)
    tree.setAlternatingRowColors(True)
    tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    tree.header().setStretchLastSection(True)
    # Columns sized to their contents measure this many rows, not all of them, each time rows come.
    tree.header().setResizeContentsPrecision(64)
    return tree


class StateView(QWidget):
    """Run inputs and each node's outputs as a tree; a grid or full text for the chosen value.

    The tree (``stateView``) has one top-level row per node with outputs, column 0 the node id.
    """

    edit_requested = Signal(str, object)  # state path ("outputs.N.P" / "inputs.K"), current value
    table_edit_requested = Signal(object)  # a TableOutput: open its grid editable
    failed_edit_requested = Signal(str)  # a failed node's id: give it an output by hand

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("No run yet: press Run (F5).")
        self.caption.setObjectName("stateCaption")
        self.caption.setWordWrap(True)
        self.inputs = _tree("stateInputs", ["Run input", "Value"])
        self.inputs.setMaximumHeight(84)
        self.inputs.hide()
        self.failed = _tree("stateFailed", ["Failed node", "Error"])
        self.failed.setMaximumHeight(84)
        self.failed.hide()
        self._shown: dict[str, Any] = {}  # node id -> (its outputs, its tables), as the tree shows them
        self._state: dict[str, Any] | None = None  # the captured state shown
        self.tree = _tree("stateView", ["Node", "Output", "Value"])
        self.tree.setRootIsDecorated(True)
        self.tree.setToolTip("Double-click a value to change it (the run continues with it).")
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.detail_text = QPlainTextEdit()
        self.detail_text.setObjectName("stateDetailText")
        self.detail_text.setReadOnly(True)
        self.detail_text.setPlaceholderText("Select a value to see it in full (tables as a grid).\n"
                                            "Double-click a value to change it.")
        self.detail_text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.detail_grid = TableGrid("stateDetailTable")
        self.detail_grid.view.setToolTip("Double-click the output's row on the left to change cells")
        self.detail_table = self.detail_grid.view
        self.detail = QStackedWidget()
        self.detail.addWidget(self.detail_text)
        self.detail.addWidget(self.detail_grid)
        self.db: str | None = None  # where stored tables are read from
        self._detail_key: tuple[Any, ...] | None = None  # what the detail pane shows
        self._tables: dict[str, dict[str, Any]] = {}  # "NODE.PORT" -> {"rows", "columns", "hash"}
        split = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_box = QVBoxLayout(left)
        left_box.setContentsMargins(0, 0, 0, 0)
        left_box.setSpacing(4)
        left_box.addWidget(self.inputs)
        left_box.addWidget(self.failed)
        left_box.addWidget(self.tree, 1)
        split.addWidget(left)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([600, 300])
        self.split = split
        self._split_moved = False  # once the person moves it, the split stays where they put it
        split.splitterMoved.connect(lambda *_: setattr(self, "_split_moved", True))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.caption)
        layout.addWidget(split, 1)
        self.tree.currentItemChanged.connect(self._show_detail)
        self.inputs.currentItemChanged.connect(self._show_detail)
        self.failed.currentItemChanged.connect(self._show_detail)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        edit = QShortcut(QKeySequence("F2"), self.tree, context=Qt.ShortcutContext.WidgetShortcut)
        edit.activated.connect(lambda: self.tree.currentItem() is not None
                               and self._double_clicked(self.tree.currentItem(), 0))
        self.inputs.itemDoubleClicked.connect(self._double_clicked)
        self.failed.itemDoubleClicked.connect(
            lambda item, _c: self.failed_edit_requested.emit(str(item.data(0, FAILED_ROLE))))

    def show_state(self, state: dict[str, Any] | None, caption: str, labels: dict[str, str],
                   db: str | None = None,
                   unchanged: tuple[dict[str, Any] | None, frozenset[str]] | None = None) -> None:
        """Fill the views from a captured state (``None`` clears them).

        Rows of nodes whose outputs did not change are kept, so a live run only adds rows.
        Table outputs (``state["tables"]``, with the first rows in ``outputs``) show their
        size here and a grid that reads the stored rows as it is scrolled. ``unchanged`` is
        ``(an earlier state, nodes whose outputs are the same in this one)``, found off the GUI
        thread: when the earlier state is the one shown, those nodes are not compared again.
        """
        previous, same_nodes = unchanged or (None, frozenset())
        if previous is None or previous is not self._state:
            same_nodes = frozenset()
        self._state = state
        self.db = db
        self.caption.setText(caption)
        self._fill_inputs((state or {}).get("inputs") or {})
        outputs = (state or {}).get("outputs") or {}
        self._tables = (state or {}).get("tables") or {}
        tables_of: dict[str, dict[str, Any]] = {}
        for key, info in self._tables.items():
            tables_of.setdefault(key.split(".", 1)[0], {})[key] = info
        dumped = {node_id: (ports, tables_of.get(node_id, {})) for node_id, ports in outputs.items()}
        kept = list(self._shown)
        if kept != list(dumped)[:len(kept)] or any(n not in same_nodes and not same(self._shown[n], dumped[n])
                                                   for n in kept):
            expanded = {self.tree.topLevelItem(i).text(0) for i in range(self.tree.topLevelItemCount())
                        if self.tree.topLevelItem(i).isExpanded()}
            self.tree.clear()
            self._shown = {}
        else:
            expanded = set()
        new = [node_id for node_id in dumped if node_id not in self._shown]
        items = [self._node_item(node_id, outputs[node_id], labels) for node_id in new]
        self.tree.addTopLevelItems(items)
        for node_id, top in zip(new, items, strict=True):
            top.setExpanded(node_id in expanded or len(outputs[node_id]) <= 2)
            self._shown[node_id] = dumped[node_id]
        if items:
            self._fit_label_column(items)
        self._fill_failed((state or {}).get("errors") or {}, outputs)
        if state is None:
            self._detail_key = None
            self.detail_grid.clear()
            self.detail_text.clear()
            self.detail.setCurrentWidget(self.detail_text)

    def _fill_inputs(self, inputs: dict[str, Any]) -> None:
        self.inputs.clear()
        self.inputs.setVisible(bool(inputs))
        for name, value in inputs.items():
            item = QTreeWidgetItem([name, short_value(value, 80)])
            item.setData(0, PATH_ROLE, f"inputs.{name}")
            item.setData(0, VALUE_ROLE, json.dumps(value))
            self.inputs.addTopLevelItem(item)
        if inputs:
            self._fit_rows(self.inputs)

    def _fill_failed(self, errors: dict[str, str], outputs: dict[str, Any]) -> None:
        """Failed nodes (they have no outputs) with their error, above the outputs."""
        self.failed.clear()
        failed = {node: message for node, message in errors.items() if node not in outputs}
        self.failed.setVisible(bool(failed))
        for node_id, message in failed.items():
            item = QTreeWidgetItem([node_id, message])
            item.setForeground(1, QColor(theme.STATUS_COLOURS["failed"]))
            item.setToolTip(1, message)
            item.setData(0, VALUE_ROLE, json.dumps(message))
            item.setData(0, FAILED_ROLE, node_id)
            item.setToolTip(0, "Double-click to give this node its output by hand (it then counts as done)")
            self.failed.addTopLevelItem(item)
        if failed:
            self._fit_rows(self.failed)

    def _fit_label_column(self, added: list[QTreeWidgetItem]) -> None:
        """The node-label column as wide as its labels (at most 160 px): values keep the room.

        Only the rows just added are measured (at most 500 of them), against the width so far.
        """
        metrics = self.tree.fontMetrics()
        width = metrics.horizontalAdvance(self.tree.headerItem().text(1)) + 24
        if len(added) < self.tree.topLevelItemCount():
            width = max(width, self.tree.columnWidth(1))
        for item in added[:500]:
            width = max(width, metrics.horizontalAdvance(item.text(1)) + 16)
        self.tree.setColumnWidth(1, min(width, 160))

    @staticmethod
    def _fit_rows(view: QTreeWidget) -> None:
        row = max(18, view.sizeHintForRow(0))
        rows = min(3, view.topLevelItemCount())
        view.setMaximumHeight(view.header().sizeHint().height() + rows * row + 6)

    def _node_item(self, node_id: str, ports: dict[str, Any], labels: dict[str, str]) -> QTreeWidgetItem:
        label = labels.get(node_id, "")
        top = QTreeWidgetItem([node_id, label if label != node_id else "", ""])
        top.setToolTip(0, labels.get(node_id, node_id))
        for port, value in ports.items():
            info = self._tables.get(f"{node_id}.{port}")
            if info is not None:
                top.addChild(self._table_item(node_id, port, value, info))
                continue
            child = QTreeWidgetItem([port, "", short_value(value, 80)])
            child.setData(0, PATH_ROLE, f"outputs.{node_id}.{port}")
            child.setData(0, VALUE_ROLE, json.dumps(value))
            self._add_children(child, value, 0)
            top.addChild(child)
        return top

    def _table_item(self, node_id: str, port: str, preview: Any, info: dict[str, Any]) -> QTreeWidgetItem:
        """A table port: "table · N rows" (the rows themselves are read by the grid, lazily)."""
        rows = int(info.get("rows") or 0)
        columns = list(info.get("columns") or [])
        table = TableOutput(f"outputs.{node_id}.{port}", rows, columns, info.get("hash"), self.db,
                            preview if isinstance(preview, list) else [])
        child = QTreeWidgetItem([port, "", f"table · {rows:,} row{'' if rows == 1 else 's'}"])
        child.setData(0, PATH_ROLE, table.path)
        child.setData(0, TABLE_ROLE, table)
        kinds = ", ".join(f"{c['name']} ({c.get('kind', 'text')})" for c in columns[:30])
        tip = f"{rows:,} rows × {len(columns)} columns: {kinds}" + ("…" if len(columns) > 30 else "")
        child.setToolTip(2, tip + "\nDouble-click (or F2) to change cells")
        return child

    def _add_children(self, parent: QTreeWidgetItem, value: Any, depth: int) -> None:
        if depth > 3 or not isinstance(value, (dict, list)) or is_table(value) and value:
            return
        entries = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        for key, sub in entries[:MAX_CHILDREN]:
            child = QTreeWidgetItem([str(key), "", short_value(sub, 80)])
            child.setData(0, VALUE_ROLE, json.dumps(sub))
            parent.addChild(child)
            self._add_children(child, sub, depth + 1)

    def select_node(self, node_id: str) -> None:
        found = self.tree.findItems(node_id, Qt.MatchFlag.MatchExactly, 0)
        if found:
            self.tree.setCurrentItem(found[0])
            found[0].setExpanded(True)

    def _show_detail(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None = None) -> None:
        if item is not None and item.data(0, PATH_ROLE) is None and item.childCount():
            item = item.child(0)  # a node's row shows its first output
        table = item.data(0, TABLE_ROLE) if item is not None else None
        if isinstance(table, TableOutput):
            key = ("stored", table.path, table.digest, table.rows)
            if key != self._detail_key:
                self._detail_key = key
                self.detail_grid.show_table(table.source(), table.preview)
            self._show_grid()
            return
        raw = item.data(0, VALUE_ROLE) if item is not None else None
        value = json.loads(raw) if raw is not None else None
        if is_table(value) and value:
            key = ("json", raw)
            if key != self._detail_key:
                try:
                    source = FrameTable.from_rows(value)
                except Exception:  # noqa: BLE001 - odd rows are shown as text instead
                    source = None
                if source is not None:
                    self._detail_key = key
                    self.detail_grid.show_table(source, value)
            if self._detail_key == key:
                self._show_grid()
                return
        text = "" if raw is None else (value if isinstance(value, str) else
                                       json.dumps(value, indent=2, ensure_ascii=False))
        self.detail_text.setPlainText(text)
        self.detail.setCurrentWidget(self.detail_text)

    def _show_grid(self) -> None:
        """Show the grid, giving it the larger part of the panel (a table needs the width)."""
        self.detail.setCurrentWidget(self.detail_grid)
        sizes = self.split.sizes()
        total = sum(sizes)
        if not self._split_moved and total > 0 and sizes[1] < total * 0.55:
            self.split.setSizes([int(total * 0.45), total - int(total * 0.45)])

    def _double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        path = item.data(0, PATH_ROLE)
        table = item.data(0, TABLE_ROLE)
        if isinstance(table, TableOutput):
            self.table_edit_requested.emit(table)
        elif path:
            self.edit_requested.emit(str(path), json.loads(item.data(0, VALUE_ROLE)))


class CheckpointList(QWidget):
    """The shown run's checkpoints (``checkpointList``) and "Resume from here"."""

    chosen = Signal(object)  # checkpoint id, or None for "latest"
    fork_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = _tree("checkpointList", ["#", "Node", "Event", "Time", "Size"])
        header = self.tree.header()
        header.setStretchLastSection(False)
        # Widths from the font, not from the rows: sizing columns to their contents measures
        # every row again whenever rows are added, which a long run does many times a second.
        metrics = self.tree.fontMetrics()
        for col, sample in ((0, "00000"), (2, "skipped"), (3, "00:00:00"), (4, "000.0 KB")):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            width = max(metrics.horizontalAdvance(sample), metrics.horizontalAdvance(
                self.tree.headerItem().text(col))) + 18
            self.tree.setColumnWidth(col, width)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.fork_button = QPushButton(theme.icon("run-to-here"), "Resume from here")
        self.fork_button.setObjectName("forkButton")
        self.fork_button.setToolTip("Start a new run from the chosen checkpoint (the original run stays as it was)")
        self.fork_button.setEnabled(False)
        self.fork_button.clicked.connect(self._fork)
        self.latest_button = QPushButton("Show latest")
        self.latest_button.setObjectName("latestButton")
        self.latest_button.clicked.connect(self.show_latest)
        buttons = QHBoxLayout()
        buttons.addWidget(self.fork_button)
        buttons.addWidget(self.latest_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self.tree.itemSelectionChanged.connect(self._selection)
        self._filling = False
        self._ids: list[str] = []
        self._known: set[str] = set()

    def fill(self, checkpoints: list[dict[str, Any]], labels: dict[str, str], partial: bool = False) -> None:
        """Show exactly ``checkpoints`` (a fresh read of the store).

        Rows already shown are kept (checkpoints never change once written) and only the new
        ones are added; the list is rebuilt only when the store says something else
        (another run, or checkpoints deleted by a clean-up). A ``partial`` read (made while
        the run went on) may also be behind the rows shown: then they are kept as well.
        """
        shown = self._ids
        if (len(checkpoints) >= len(shown) or partial) and all(
                cp["id"] == shown_id for cp, shown_id in zip(checkpoints, shown, strict=False)):
            self.append(checkpoints[len(shown):], labels)
            return
        current = self.current_id()
        self._filling = True
        self.tree.clear()
        self._ids = []
        self._known = set()
        self._filling = False
        self.append(checkpoints, labels, select=current)

    def append(self, checkpoints: list[dict[str, Any]], labels: dict[str, str],
               select: str | None = None) -> None:
        """Add rows for checkpoints not shown yet (live, as the run writes them), in one go.

        The view scrolls (once) to the new rows only when it was already at the bottom.
        """
        new = []
        for cp in checkpoints:
            if cp["id"] not in self._known:
                self._known.add(cp["id"])
                new.append(cp)
        if not new:
            return
        bar = self.tree.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 2
        self._filling = True
        items = [self._item(cp, labels) for cp in new]
        self._ids.extend(cp["id"] for cp in new)
        self.tree.addTopLevelItems(items)
        chosen_item = None
        if select is not None:
            chosen_item = next((i for i in items if i.data(0, PATH_ROLE) == select), None)
            if chosen_item is not None:
                chosen_item.setSelected(True)
        self._filling = False
        self.fork_button.setEnabled(bool(self.tree.selectedItems()))
        if chosen_item is not None:
            self.tree.scrollToItem(chosen_item)
        elif at_bottom:
            self.tree.scrollToBottom()

    @staticmethod
    def _item(cp: dict[str, Any], labels: dict[str, str]) -> QTreeWidgetItem:
        node = cp.get("node")
        item = QTreeWidgetItem([str(cp["seq"]), labels.get(node, node) if node else "—",
                                CHECKPOINT_EVENTS.get(cp["event"], cp["event"]),
                                clock(cp.get("created_at")),
                                human_bytes(int(cp.get("size_bytes") or 0))])
        item.setData(0, PATH_ROLE, cp["id"])
        item.setToolTip(0, cp["id"])
        item.setToolTip(1, f"{node or 'no node'}: {cp['event'].replace('_', ' ')}")
        colour = {"node_failed": "failed", "node_completed": "done", "state_edited": "paused"}.get(cp["event"])
        if colour:
            item.setForeground(2, QColor(theme.STATUS_COLOURS[colour]))
        return item

    def ids(self) -> list[str]:
        """The checkpoint ids shown, top to bottom."""
        return list(self._ids)

    def current_id(self) -> str | None:
        items = self.tree.selectedItems()
        return str(items[0].data(0, PATH_ROLE)) if items else None

    def is_latest(self, checkpoint_id: str | None) -> bool:
        count = self.tree.topLevelItemCount()
        return checkpoint_id is None or (
            count > 0 and self.tree.topLevelItem(count - 1).data(0, PATH_ROLE) == checkpoint_id
        )

    def select(self, checkpoint_id: str) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, PATH_ROLE) == checkpoint_id:
                self.tree.setCurrentItem(item)
                return

    def show_latest(self) -> None:
        self.tree.clearSelection()

    def _selection(self) -> None:
        if self._filling:
            return
        chosen = self.current_id()
        self.fork_button.setEnabled(chosen is not None)
        self.chosen.emit(None if self.is_latest(chosen) else chosen)

    def _fork(self) -> None:
        chosen = self.current_id()
        if chosen is not None:
            self.fork_requested.emit(chosen)


class HistoryView(QTreeWidget):
    """The shown run's history (``historyView``): one row per event."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyView")
        self.setHeaderLabels(["#", "Time", "Event", "Node", "Duration", "Detail"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self._run_id: str | None = None
        self._seqs: list[int] = []
        for col, width in enumerate((36, 64, 112, 96, 64)):
            self.setColumnWidth(col, width)

    def fill(self, events: list[dict[str, Any]], run_id: str | None = None) -> None:
        """Show ``events``; rows already shown for the same run are kept (a long run stays cheap)."""
        shown = self._seqs if run_id == self._run_id else []
        common = min(len(shown), len(events))
        if shown and [ev["seq"] for ev in events[:common]] == shown[:common]:
            # Live events may already be ahead of this read: keep them, add what is new.
            events = events[len(shown):]
        else:
            self.clear()
            self._seqs = []
        self._run_id = run_id
        self._append(events)

    def add(self, ev: dict[str, Any]) -> None:
        """Show one live event of the shown run (ignored when it is already there)."""
        self.add_events([ev])

    def add_events(self, events: list[dict[str, Any]]) -> None:
        """Show a batch of live events of the shown run, in one go (those already there are skipped)."""
        last = self._seqs[-1] if self._seqs else None
        new = []
        for ev in events:
            if ev.get("run_id") not in (None, self._run_id):
                continue
            if last is not None and ev["seq"] <= last:
                continue
            new.append(ev)
            last = ev["seq"]
        self._append(new)

    def seqs(self) -> list[int]:
        """The event numbers shown, top to bottom."""
        return list(self._seqs)

    def _append(self, events: list[dict[str, Any]]) -> None:
        """Add rows at the end; scroll (once) to them only when the view was at the bottom."""
        if not events:
            return
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 2
        self.addTopLevelItems([self._item(ev) for ev in events])
        self._seqs.extend(ev["seq"] for ev in events)
        if at_bottom:
            self.scrollToBottom()

    @staticmethod
    def _item(ev: dict[str, Any]) -> QTreeWidgetItem:
        detail = dict(ev.get("detail") or {})
        duration = detail.pop("duration", None)
        text = "" if duration is None else f"{float(duration) * 1000:.0f} ms"
        item = QTreeWidgetItem([str(ev["seq"]), clock(ev.get("time")), ev["event"].replace("_", " "),
                                ev.get("node") or "", text, event_summary(detail)])
        if ev["event"] in ("node_failed", "run_failed"):
            item.setForeground(2, QColor(theme.STATUS_COLOURS["failed"]))
        elif ev["event"] in ("node_completed", "run_completed"):
            item.setForeground(2, QColor(theme.STATUS_COLOURS["done"]))
        elif ev["event"] == "paused":
            item.setForeground(2, QColor(theme.STATUS_COLOURS["paused"]))
        item.setToolTip(5, json.dumps(ev.get("detail") or {}, indent=1)[:2000])
        return item


def event_summary(detail: dict[str, Any]) -> str:
    """A short, plain-words line for a history event's detail (the full detail is the tooltip)."""
    for key in ("error", "line"):
        if detail.get(key):
            return str(detail[key])
    parts: list[str] = []
    if detail.get("workflow"):
        parts.append(str(detail["workflow"]).replace("\\", "/").rsplit("/", 1)[-1])
    if detail.get("reason"):
        parts.append(str(detail["reason"]))
    if detail.get("stale"):
        parts.append("runs again: " + ", ".join(map(str, detail["stale"])))
    if detail.get("failed"):
        parts.append("failed: " + ", ".join(map(str, detail["failed"])))
    if detail.get("from_status"):
        parts.append(f"was {detail['from_status']}" + (" (one step)" if detail.get("step") else ""))
    if detail.get("parent_run"):
        parts.append(f"from {detail['parent_run']}")
    if detail.get("set"):
        parts.append(short_value(detail["set"], 80))
    if detail.get("elapsed") is not None and "reason" not in detail:
        parts.append(f"after {float(detail['elapsed']):.2f} s")
    if parts:
        return " · ".join(parts)
    return short_value(detail, 90) if detail else ""


class RunLog(QPlainTextEdit):
    """The run log (``runLog``): ``log`` node lines, errors, and what the run did."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runLog")
        self.setReadOnly(True)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setMaximumBlockCount(5000)
        self.setPlaceholderText("Lines from 'log' nodes and errors appear here.")

    def line(self, text: str) -> None:
        self.appendPlainText(text)


class RunsList(QTreeWidget):
    """This workflow's runs, newest first; activating one shows it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runsList")
        self.setToolTip("Click a run to show its state, checkpoints and history")
        self.setHeaderLabels(["Run", "Status", "Started", "Forked from"])
        self.setRootIsDecorated(False)
        self.setAlternatingRowColors(True)
        for col in range(3):
            self.header().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self._shown: Any = None  # what fill showed last

    def fill(self, runs: list[dict[str, Any]], shown: str | None) -> None:
        """Show ``runs`` (newest first); nothing is redone when they and the shown run are unchanged."""
        key = ([(r["id"], r["status"], r.get("created_at"), r.get("parent_run")) for r in runs], shown)
        if key == self._shown:
            return
        self._shown = key
        self.clear()
        for run in reversed(runs):
            item = QTreeWidgetItem([run["id"], run["status"], clock(run.get("created_at")),
                                    run.get("parent_run") or ""])
            item.setData(0, PATH_ROLE, run["id"])
            colour = {"completed": "done", "failed": "failed", "paused": "paused",
                      "running": "running"}.get(run["status"])
            if colour:
                item.setForeground(1, QColor(theme.STATUS_COLOURS[colour]))
            self.addTopLevelItem(item)
            if run["id"] == shown:
                item.setSelected(True)


class InterruptedBar(QFrame):
    """A non-modal bar offering what to do with runs whose process died."""

    resume_requested = Signal(str)
    inspect_requested = Signal(str)
    discard_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("interruptedBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#interruptedBar { background: #fef3c7; border: 1px solid #f59e0b; }"
                           "#interruptedBar QLabel { color: #78350f; }")
        self.run_id: str | None = None
        self.label = QLabel()
        self.label.setObjectName("interruptedText")
        self.label.setWordWrap(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        self.buttons: dict[str, QPushButton] = {}
        for name, text, signal in (("interruptedResume", "Resume", self.resume_requested),
                                   ("interruptedInspect", "Inspect", self.inspect_requested),
                                   ("interruptedDiscard", "Discard", self.discard_requested)):
            button = QPushButton(text)
            button.setObjectName(name)
            self.buttons[name] = button
            button.clicked.connect(lambda _=False, s=signal: self.run_id and s.emit(self.run_id))
            layout.addWidget(button)
        self.hide()

    def offer(self, runs: list[dict[str, Any]], shown: str | None = None) -> None:
        """Show the newest interrupted run (the ``shown`` one first), or hide."""
        if not runs:
            self.run_id = None
            self.hide()
            return
        run = next((r for r in runs if r["id"] == shown), runs[-1])
        self.buttons["interruptedInspect"].setVisible(run["id"] != shown)
        if run["id"] == shown:
            self.run_id = run["id"]
            self.label.setText(f"The run {run['id']} shown below was interrupted (its process ended). "
                               "Resume it to go on from its last checkpoint, or discard this notice.")
            self.show()
            return
        self.run_id = run["id"]
        more = f" ({len(runs) - 1} more)" if len(runs) > 1 else ""
        workflow = run.get("workflow") or ""
        name = workflow.replace("\\", "/").rsplit("/", 1)[-1] or "a workflow"
        self.label.setToolTip(workflow)
        self.label.setText(f"The run {run['id']} of {name} was interrupted (its process ended){more}. "
                           "Resume it, inspect it, or discard this notice.")
        self.show()
