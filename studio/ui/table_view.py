"""Tables in the captured state: a grid over a stored table that reads its rows lazily.

``TableModel`` is a ``QAbstractTableModel`` whose row count is the table's full row
count (from the stored metadata) and whose cells are read in blocks of
``BLOCK_ROWS`` rows on a worker thread (``bridge.Fetcher``), a few dozen blocks kept
(least recently used first out). A million-row table scrolls without ever being
loaded whole: the GUI thread only ever holds the blocks on screen. Until its block
arrives a cell shows "…".

A missing cell is drawn as a grey italic *missing*, apart from empty text (which
shows empty). Numbers are right-aligned, integers without ".0", floats as written.

``TableEditor`` (objectName ``valueEditor``) is the same grid, editable, for a table
output in the captured state; its changes become JSON rows for the state edit.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from studio import api
from studio.tables.names import DATE_PATTERN, INTEGER_PATTERN, NUMBER_PATTERN
from studio.ui import theme
from studio.ui.bridge import Fetcher

if TYPE_CHECKING:
    import polars as pl

BLOCK_ROWS = 500
CACHED_BLOCKS = 48
#: Cells can be changed in tables up to this many rows (the edit rewrites the whole table).
EDITABLE_ROWS = 100_000
#: "Edit as JSON" shows the whole table as text: only for tables up to this many rows.
JSON_ROWS = 10_000
#: How many rows of each table the captured state shown in the GUI carries (the rest is read lazily).
PREVIEW_ROWS = 50

CELL_ROLE = Qt.ItemDataRole.UserRole + 10  # the cell's JSON value (None: missing), or PENDING
MISSING_ROLE = Qt.ItemDataRole.UserRole + 11  # True when the cell is missing
INDEX = QModelIndex | QPersistentModelIndex


class _Pending:
    def __repr__(self) -> str:
        return "PENDING"


PENDING: Any = _Pending()  # a cell whose block has not arrived yet
_NUMBER = re.compile(NUMBER_PATTERN)  # the same shapes as reading a file
_INTEGER = re.compile(INTEGER_PATTERN)
_DATE = re.compile(DATE_PATTERN)


class TableSource(Protocol):
    """A table the grid can show: its size and kinds, and its rows read a slice at a time."""

    rows: int
    columns: list[dict[str, str]]

    def fetch(self, offset: int, length: int) -> pl.DataFrame:
        """Rows ``offset .. offset+length`` (called on a worker thread)."""
        ...


@dataclass
class StoredTable:
    """A table kept in the store, read with ``Store.table_slice`` (only the row groups needed)."""

    db: str | None
    digest: str
    rows: int
    columns: list[dict[str, str]] = field(default_factory=list)

    def fetch(self, offset: int, length: int) -> pl.DataFrame:
        return api.get_store(self.db).table_slice(self.digest, offset, length)


class FrameTable:
    """A table held in memory (JSON rows of a value that is not a stored table, or a DataFrame)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        from studio.tables.frame import columns_of

        self.frame = frame
        self.rows = frame.height
        self.columns = columns_of(frame)

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> FrameTable:
        from studio.tables.frame import from_rows

        return cls(from_rows(rows))

    def fetch(self, offset: int, length: int) -> pl.DataFrame:
        return self.frame.slice(offset, length)


def read_block(source: TableSource, block: int) -> list[list[Any]]:
    """One block of rows as JSON values, column by column (runs on the worker thread)."""
    from studio.tables.frame import json_columns

    frame = json_columns(source.fetch(block * BLOCK_ROWS, BLOCK_ROWS))
    return [frame.get_column(name).to_list() for name in frame.columns]


def read_rows(source: TableSource) -> list[dict[str, Any]]:
    """The whole table as the contract's JSON rows (for an edit; on a worker thread)."""
    from studio.tables.frame import to_rows

    return to_rows(source.fetch(0, source.rows))


def shape_text(rows: int, columns: int) -> str:
    """``1,000,000 rows × 6 columns``."""
    return (f"{rows:,} row{'' if rows == 1 else 's'} × "
            f"{columns:,} column{'' if columns == 1 else 's'}")


def display_text(value: Any) -> str:
    """A cell as one line of text: numbers as written, dates ISO, objects as JSON."""
    from studio.tables.frame import cell_text

    text = cell_text(value)
    if "\n" in text or "\r" in text or "\t" in text:
        text = text.replace("\r\n", " ⏎ ").replace("\n", " ⏎ ").replace("\r", " ⏎ ").replace("\t", " ")
    return text if len(text) <= 400 else text[:399] + "…"


def parse_cell(text: str, kind: str) -> Any:
    """What a person typed into a cell of a ``kind`` column, as a JSON value; ``None`` is missing.

    Raises ``ValueError`` with a sentence when the text does not fit the column's kind.
    In a text column every text is kept as typed (empty text stays empty text).
    """
    if kind == "text":
        return text
    typed = text.strip()
    if not typed:
        return None
    if kind == "number":
        if _INTEGER.fullmatch(typed):
            return int(typed)
        if _NUMBER.fullmatch(typed):
            number = float(typed)
            if math.isfinite(number):
                return number
        raise ValueError(f"“{typed}” is not a number (like 12 or 3.5)")
    if kind == "bool":
        word = typed.lower()
        if word in ("true", "yes", "1"):
            return True
        if word in ("false", "no", "0"):
            return False
        raise ValueError(f"“{typed}” is not true or false")
    if kind == "date":
        problem = f"“{typed}” is not a date like 2024-05-01"
        if not _DATE.fullmatch(typed):
            raise ValueError(problem)
        try:
            return date.fromisoformat(typed).isoformat()
        except ValueError:
            raise ValueError(problem) from None
    if kind == "datetime":
        try:
            return datetime.fromisoformat(typed.replace("Z", "+00:00")).isoformat()
        except ValueError:
            raise ValueError(f"“{typed}” is not a date and time like 2024-05-01T10:30:00") from None
    return text


class TableModel(QAbstractTableModel):
    """A stored table as a Qt model: every row counted, cells read in blocks as they are shown."""

    edited = Signal()  # a cell was changed (editable models only)
    refused = Signal(str)  # what was typed does not fit the column's kind
    failed = Signal(str)  # a block could not be read

    def __init__(self, source: TableSource, preview: list[dict[str, Any]] | None = None,
                 parent: Any = None) -> None:
        super().__init__(parent)
        self.source = source
        self.columns = list(source.columns)
        self._rows = int(source.rows)
        self._kinds = [c.get("kind", "text") for c in self.columns]
        self._blocks: OrderedDict[int, list[list[Any]]] = OrderedDict()
        self._requested: set[int] = set()
        self._broken: dict[int, str] = {}
        self._fetcher = Fetcher(self)
        self._fetcher.fetched.connect(self._arrived)
        self.edits: dict[tuple[int, int], Any] = {}
        self.editable = False
        self.error = ""
        self._italic = QFont()
        self._italic.setItalic(True)
        colours = theme.canvas_colours()
        self._dim = colours.text_dim
        self._changed = QColor(colours.note_body)
        if preview:
            names = [c["name"] for c in self.columns]
            first = preview[:BLOCK_ROWS]
            self._blocks[0] = [[row.get(name) for row in first] for name in names]

    # -- reading ----------------------------------------------------------------------

    def _cell(self, row: int, column: int) -> Any:
        if (row, column) in self.edits:
            return self.edits[row, column]
        block, at = divmod(row, BLOCK_ROWS)
        values = self._blocks.get(block)
        if values is not None and at < len(values[column]):
            self._blocks.move_to_end(block)
            return values[column][at]
        if block not in self._broken:
            self._request(block)
        return PENDING

    def _request(self, block: int) -> None:
        if block in self._requested:
            return
        self._requested.add(block)
        dropped = self._fetcher.request(block, partial(read_block, self.source, block))
        self._requested.difference_update(dropped)

    def _arrived(self, result: tuple[int, Any]) -> None:
        block, values = result
        self._requested.discard(block)
        if isinstance(values, Exception):
            self._broken[block] = self.error = str(values) or type(values).__name__
            self.failed.emit(self.error)
        else:
            self._blocks[block] = values
            self._blocks.move_to_end(block)
            while len(self._blocks) > CACHED_BLOCKS:
                self._blocks.popitem(last=False)
        first = block * BLOCK_ROWS
        last = min(first + BLOCK_ROWS, self._rows) - 1
        if last >= first and self.columns:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(self.columns) - 1))

    def loaded(self, row: int) -> bool:
        """Whether the block holding ``row`` is here (asks for it when not)."""
        return not self.columns or self._cell(row, 0) is not PENDING

    def cached_blocks(self) -> int:
        return len(self._blocks)

    def value(self, row: int, column: int) -> Any:
        """A cell's JSON value (``None``: missing, ``PENDING``: not read yet)."""
        return self._cell(row, column)

    # -- the Qt model -------------------------------------------------------------------

    def rowCount(self, parent: INDEX = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: INDEX = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal:
            if not 0 <= section < len(self.columns):
                return None
            column = self.columns[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{column['name']} · {column.get('kind', 'text')}"
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{column['name']}: a {column.get('kind', 'text')} column"
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{section + 1:,}"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: INDEX, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = (Qt.AlignmentFlag.AlignRight if self._kinds[column] == "number"
                          else Qt.AlignmentFlag.AlignLeft)
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole, Qt.ItemDataRole.FontRole,
                        Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.ToolTipRole,
                        Qt.ItemDataRole.BackgroundRole, CELL_ROLE, MISSING_ROLE):
            return None
        value = self._cell(row, column)
        if role == CELL_ROLE:
            return value
        if role == MISSING_ROLE:
            return value is None
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._changed if (row, column) in self.edits else None
        if value is PENDING:
            broken = self._broken.get(row // BLOCK_ROWS)
            if role == Qt.ItemDataRole.DisplayRole:
                return "⚠" if broken else "…"
            if role == Qt.ItemDataRole.ForegroundRole:
                return self._dim
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"These rows cannot be read: {broken}" if broken else "reading…"
            return None
        if role == Qt.ItemDataRole.EditRole:
            return "" if value is None else display_text(value)
        if value is None:
            if role == Qt.ItemDataRole.DisplayRole:
                return "missing"
            if role == Qt.ItemDataRole.FontRole:
                return self._italic
            if role == Qt.ItemDataRole.ForegroundRole:
                return self._dim
            if role == Qt.ItemDataRole.ToolTipRole:
                return "missing (no value)"
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return display_text(value)
        if role == Qt.ItemDataRole.ToolTipRole:
            from studio.tables.frame import cell_text

            text = cell_text(value)
            tip = text[:2000] if len(text) > 40 or "\n" in text else None
            if (row, column) in self.edits:
                return "changed" + (f": {tip}" if tip else "")
            return tip
        return None

    def flags(self, index: INDEX) -> Qt.ItemFlag:
        base = super().flags(index)
        if self.editable and index.isValid():
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def setData(self, index: INDEX, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if not self.editable or not index.isValid() or role != Qt.ItemDataRole.EditRole:
            return False
        column = index.column()
        try:
            parsed = parse_cell("" if value is None else str(value), self._kinds[column])
        except ValueError as exc:
            self.refused.emit(f"{self.columns[column]['name']}: {exc}")
            return False
        return self.set_cell(index.row(), column, parsed)

    def set_cell(self, row: int, column: int, value: Any) -> bool:
        """Change one cell (``None`` makes it missing); shown at once, written on save."""
        if not self.editable:
            return False
        self.edits[row, column] = value
        index = self.index(row, column)
        self.dataChanged.emit(index, index)
        self.edited.emit()
        return True

    def shutdown(self) -> None:
        self._fetcher.shutdown()


class TableView(QTableView):
    """A grid for a ``TableModel``: fixed row heights (a million rows stay cheap), Delete → missing."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vertical = self.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        horizontal = self.horizontalHeader()
        horizontal.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        horizontal.setHighlightSections(False)
        horizontal.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._model: TableModel | None = None  # the view does not own its model: kept alive here

    def table_model(self) -> TableModel | None:
        model = self.model()
        return model if isinstance(model, TableModel) else None

    def show_model(self, model: TableModel) -> None:
        old = self.table_model()
        self.setModel(model)
        self._model = model
        if old is not None and old is not model:
            old.shutdown()
            old.deleteLater()
        editable = model.editable
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed if editable
            else QAbstractItemView.EditTrigger.NoEditTriggers)
        self._fit_columns(model)
        # Row numbers as wide as the last one (the header would guess wider for a million rows).
        widest = f"{max(model.rowCount(), 1):,}".replace("1", "8")
        self.verticalHeader().setFixedWidth(self.verticalHeader().fontMetrics().horizontalAdvance(widest) + 12)

    def clear_model(self) -> None:
        model = self._model
        self.setModel(None)
        self._model = None
        if model is not None:
            model.shutdown()
            model.deleteLater()

    def _fit_columns(self, model: TableModel) -> None:
        """Widths from the header and the rows already here (never reading rows for it)."""
        metrics = self.fontMetrics()
        header = self.horizontalHeader().fontMetrics()
        shown = min(model.rowCount(), 40)
        for column in range(model.columnCount()):
            title = str(model.headerData(column, Qt.Orientation.Horizontal))
            width = header.horizontalAdvance(title) + 24
            for row in range(shown):
                value = model._cell(row, column)  # noqa: SLF001 - only what is cached, see below
                if value is PENDING:
                    break
                text = "missing" if value is None else display_text(value)
                width = max(width, metrics.horizontalAdvance(text[:60]) + 16)
            self.setColumnWidth(column, min(max(width, 60), 320))

    def set_missing(self) -> int:
        """Make the selected cells missing; how many were changed."""
        model = self.table_model()
        if model is None or not model.editable:
            return 0
        cells = self.selectedIndexes() or ([self.currentIndex()] if self.currentIndex().isValid() else [])
        for index in cells:
            model.set_cell(index.row(), index.column(), None)
        return len(cells)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        model = self.table_model()
        if (model is not None and model.editable and self.state() != QAbstractItemView.State.EditingState
                and (event.matches(QKeySequence.StandardKey.Delete) or event.key() == Qt.Key.Key_Backspace)):
            self.set_missing()
            return
        super().keyPressEvent(event)


class TableGrid(QWidget):
    """A caption ("1,000,000 rows × 6 columns") over a ``TableView``."""

    def __init__(self, view_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel()
        self.caption.setObjectName(f"{view_name}Caption")
        self.caption.setWordWrap(True)
        self.view = TableView()
        self.view.setObjectName(view_name)
        self.view.setAccessibleName("Table")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)

    def show_table(self, source: TableSource, preview: list[dict[str, Any]] | None = None, *,
                   editable: bool = False, note: str = "") -> TableModel:
        model = TableModel(source, preview)
        model.editable = editable
        model.failed.connect(lambda message: self.caption.setText(f"{self._text(model)} · ⚠ {message}"))
        self.view.show_model(model)
        self.caption.setText(self._text(model) + (f" · {note}" if note else ""))
        return model

    @staticmethod
    def _text(model: TableModel) -> str:
        return shape_text(model.rowCount(), model.columnCount())

    def clear(self) -> None:
        self.view.clear_model()
        self.caption.clear()


@dataclass
class TableOutput:
    """A table output as the state panel knows it: where it is stored and what it looks like."""

    path: str  # outputs.NODE.PORT
    rows: int
    columns: list[dict[str, str]]
    digest: str | None = None
    db: str | None = None
    preview: list[dict[str, Any]] = field(default_factory=list)

    def source(self) -> TableSource:
        if self.digest is not None:
            return StoredTable(self.db, self.digest, self.rows, self.columns)
        return FrameTable.from_rows(self.preview)


class TableEditor(QDialog):
    """The editor of a table output (``valueEditor``): the grid, editable, and "Edit as JSON".

    Tables above ``EDITABLE_ROWS`` rows open read-only, saying why (an edit rewrites
    the whole table through the state-edit path).
    """

    save_requested = Signal(object, object)  # TableOutput, the model (with its edits)
    json_requested = Signal(object)  # TableOutput

    def __init__(self, table: TableOutput, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("valueEditor")
        self.setWindowTitle(f"Change {table.path}")
        self.setAccessibleName(f"Change {table.path}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.table = table
        # Without its stored rows (only the first ones came with the state) a save would cut the table.
        complete = table.digest is not None or table.rows <= len(table.preview)
        editable = table.rows <= EDITABLE_ROWS and complete
        self.grid = TableGrid("valueEditorGrid")
        if editable:
            note = ("double-click a cell (or type) to change it; Delete makes it missing; "
                    "in a text column an empty cell is empty text")
        elif not complete:
            note = "only the first rows are here (the stored table was not found), so it cannot be changed"
        else:
            note = (f"too big to change here: cells can be changed in tables of up to {EDITABLE_ROWS:,} "
                    "rows (limit or filter the rows upstream, or set the output with studio resume --set)")
        self.model = self.grid.show_table(table.source(), table.preview, editable=editable, note=note)
        self.message = QLabel()
        self.message.setObjectName("valueEditorMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {theme.STATUS_COLOURS['failed']};")
        self.model.refused.connect(self.message.setText)
        self.model.edited.connect(self._edited)
        self.missing_button = QPushButton("Make missing")
        self.missing_button.setObjectName("valueEditorMissing")
        self.missing_button.setToolTip("Make the selected cells missing (Delete)")
        self.missing_button.setEnabled(editable)
        self.missing_button.clicked.connect(self.grid.view.set_missing)
        self.json_button = QPushButton("Edit as JSON…")
        self.json_button.setObjectName("valueEditorJson")
        self.json_button.setEnabled(table.rows <= JSON_ROWS and complete)
        self.json_button.setToolTip("Change the whole table as JSON rows" if table.rows <= JSON_ROWS else
                                    f"Only for tables of up to {JSON_ROWS:,} rows")
        self.json_button.clicked.connect(self._as_json)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("valueEditorSave")
        self.save_button.setEnabled(False)
        self.buttons.accepted.connect(self._save)
        if not editable:
            self.save_button.hide()
            self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Close")
        self.buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.missing_button)
        row.addWidget(self.json_button)
        row.addStretch(1)
        row.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.grid, 1)
        layout.addWidget(self.message)
        layout.addLayout(row)
        row_height = self.grid.view.verticalHeader().defaultSectionSize()
        self.resize(900, max(300, min(560, 170 + row_height * min(table.rows, 40))))
        self.finished.connect(lambda _result: self.model.shutdown())

    def _edited(self) -> None:
        self.message.clear()
        count = len(self.model.edits)
        self.save_button.setEnabled(True)
        self.save_button.setText(f"Save {count} change{'' if count == 1 else 's'}")

    def _save(self) -> None:
        if self.model.edits:
            self.save_requested.emit(self.table, self.model)
        self.accept()

    def _as_json(self) -> None:
        self.json_requested.emit(self.table)
        self.reject()


def apply_edits(rows: list[dict[str, Any]], edits: dict[tuple[int, int], Any],
                columns: list[dict[str, str]]) -> list[dict[str, Any]]:
    """``rows`` (the whole table as JSON rows) with the changed cells set (``None``: missing)."""
    for (row, column), value in edits.items():
        rows[row][columns[column]["name"]] = value
    return rows
