"""The inspector: a form built from the selected node's param schema; each edit is an undo step."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QFont, QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.model.spec import NodeSpec
from studio.model.types import format_number, matches
from studio.ui.commands import SetLabelCommand, SetParamCommand
from studio.ui.document import Document

UNSET = ...


class NumberBox(QDoubleSpinBox):
    """A spin box that shows numbers as people write them (``3``, ``0.25``), not ``3.000000``."""

    def __init__(self) -> None:
        super().__init__()
        self.setRange(-1e15, 1e15)
        self.setDecimals(9)
        self.setKeyboardTracking(True)
        self.setButtonSymbols(QDoubleSpinBox.ButtonSymbols.UpDownArrows)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt's name
        return format_number(round(value, 9))

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt's name
        if self.value() == self.minimum() and self.specialValueText():
            self.setValue(0.0)  # arrows on an unset number start from 0, not from the minimum
        super().stepBy(steps)

    def number(self) -> int | float:
        value = self.value()
        return int(value) if float(value).is_integer() else value


class JsonEdit(QPlainTextEdit):
    """A small JSON editor; ``edited`` fires with each valid value, red border while invalid."""

    committed = Signal()

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setTabChangesFocus(True)
        self.setFixedHeight(72)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        super().focusOutEvent(event)
        self.committed.emit()


def parse_loose(text: str) -> Any:
    """Text typed for an ``any`` value: JSON when it parses (``5``, ``true``, ``[1]``), else text."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return text


def show_value(value: Any) -> str:
    if isinstance(value, str):
        # Text that would read back as JSON (``"5"``) is shown quoted to keep it text.
        return json.dumps(value) if parse_loose(value) != value else value
    return json.dumps(value, ensure_ascii=False)


class Inspector(QWidget):
    """The ``inspector`` panel: label, params and unconnected inputs of the one selected node."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self.document: Document | None = None
        self.node_id: str | None = None
        self._applying = False
        self._problems: QLabel | None = None
        self._clear_buttons: dict[str, QToolButton] = {}
        self._required: set[str] = set()
        self._rebuild_timer = QTimer(self)
        self._rebuild_timer.setSingleShot(True)
        self._rebuild_timer.setInterval(0)
        self._rebuild_timer.timeout.connect(self._rebuild)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll)
        self._rebuild()

    def set_document(self, document: Document) -> None:
        if self.document is not None:
            self.document.model_event.disconnect(self._on_model_event)
            self.document.problems_changed.disconnect(self._show_problems)
        self.document = document
        document.model_event.connect(self._on_model_event)
        document.problems_changed.connect(self._show_problems)
        self.show_node(None)

    def show_node(self, node_id: str | None) -> None:
        self.node_id = node_id
        self._rebuild()

    def _on_model_event(self, event: str, payload: Any) -> None:
        if self.node_id is None or self._applying:
            return
        node_id = getattr(payload, "id", None)
        if event in ("node_changed", "node_removed") and node_id == self.node_id:
            if event == "node_removed":
                self.node_id = None
            self._schedule_rebuild()
        elif event in ("edge_added", "edge_removed") and self.node_id == getattr(payload, "target", None):
            self._schedule_rebuild()

    def _schedule_rebuild(self) -> None:
        if not self._applying:
            self._rebuild_timer.start()

    # -- building the form ---------------------------------------------------------------

    def _rebuild(self) -> None:
        focused = self.focusWidget()
        focus_name = focused.objectName() if focused is not None and self.isAncestorOf(focused) else ""
        self._clear_buttons = {}
        page = QWidget()
        page.setObjectName("inspectorPage")
        outer = QVBoxLayout(page)
        outer.setContentsMargins(10, 10, 10, 10)
        outer.setSpacing(8)
        doc = self.document
        node = doc.workflow.nodes.get(self.node_id) if doc and self.node_id else None
        if doc is None or node is None:
            hint = QLabel("Select a node to see and edit its settings.")
            hint.setObjectName("inspectorEmpty")
            hint.setWordWrap(True)
            hint.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            outer.addWidget(hint)
            outer.addStretch(1)
            self._problems = None
            self.scroll.setWidget(page)
            return
        spec = doc.specs.get(node.type)
        title = QLabel(f"<b>{spec.label if spec else node.type}</b> <span style='color:gray'>· {node.id}</span>")
        title.setObjectName("inspectorTitle")
        outer.addWidget(title)
        if spec is not None and spec.description:
            about = QLabel(spec.description)
            about.setWordWrap(True)
            about.setObjectName("inspectorDescription")
            outer.addWidget(about)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(6)
        label_edit = QLineEdit(node.label or "")
        label_edit.setObjectName("label")
        label_edit.setPlaceholderText(node.id)
        label_edit.textEdited.connect(self._label_edited)
        form.addRow("Label", label_edit)
        if spec is not None:
            self._add_param_rows(form, spec, node.params)
        outer.addLayout(form)
        self._problems = QLabel()
        self._problems.setObjectName("inspectorProblems")
        self._problems.setWordWrap(True)
        self._problems.setStyleSheet("color: #b45309;")
        outer.addWidget(self._problems)
        self._show_problems()
        outer.addStretch(1)
        self.scroll.setWidget(page)
        if focus_name:
            again = page.findChild(QWidget, focus_name)
            if again is not None:
                again.setFocus()

    def _show_problems(self) -> None:
        """Refresh the problem lines in place (rebuilding would disturb typing)."""
        if self._problems is None or self.document is None or self.node_id is None:
            return
        problems = self.document.node_problems.get(self.node_id, [])
        self._problems.setText("\n".join(f"⚠ {p.split(': ', 1)[-1]}" for p in problems))
        self._problems.setVisible(bool(problems))

    def _add_param_rows(self, form: QFormLayout, spec: NodeSpec, params: dict[str, Any]) -> None:
        assert self.document is not None and self.node_id is not None
        connected = {e.target_port for e in self.document.workflow.edges_into(self.node_id)}
        ports = {p.name for p in spec.inputs}
        self._required = {p.name for p in spec.params if p.required}
        for param in spec.params:
            if param.name in ports:
                continue
            editor = self._editor(f"param:{param.name}", param.type, param.choices, param.required,
                                  params.get(param.name, UNSET), param.default, param.name)
            tip = param.description or f"{param.name} ({param.type})"
            self._add_row(form, param.name, editor, tip, param.name in params and not param.required)
        free_inputs = [p for p in spec.inputs if p.name not in connected]
        if free_inputs:
            heading = QLabel("Unconnected inputs")
            heading.setObjectName("inspectorInputsHeading")
            font = QFont(heading.font())
            font.setBold(True)
            heading.setFont(font)
            form.addRow(heading)
        for port in free_inputs:
            editor = self._editor(f"input:{port.name}", port.type, (), port.required,
                                  params.get(port.name, UNSET), None, port.name)
            tip = port.description or f"value used when nothing is connected to '{port.name}'"
            self._add_row(form, port.name, editor, tip, port.name in params)

    def _add_row(self, form: QFormLayout, name: str, editor: QWidget, tip: str, clearable: bool) -> None:
        editor.setToolTip(tip)
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(4)
        box.addWidget(editor, 1)
        clear = QToolButton()
        clear.setObjectName(f"clear:{name}")
        clear.setText("×")
        clear.setToolTip(f"Remove '{name}' from the node (use the default)")
        clear.setAutoRaise(True)
        clear.clicked.connect(lambda: self._set(name, UNSET, merge=False))
        clear.setVisible(clearable)
        self._clear_buttons[name] = clear
        box.addWidget(clear)
        label = QLabel(name)
        label.setToolTip(tip)
        form.addRow(label, row)

    def _editor(self, object_name: str, kind: str, choices: tuple[Any, ...], required: bool,
                value: Any, default: Any, name: str) -> QWidget:
        set_value: Callable[[Any, bool], None] = lambda v, merge: self._set(name, v, merge)  # noqa: E731
        editor: QWidget
        if choices:
            combo = QComboBox()
            if not required or value is UNSET:
                combo.addItem("(default)" if default is None else f"(default: {default})", UNSET)
            for choice in choices:
                combo.addItem(str(choice), choice)
            index = combo.findData(value) if value is not UNSET else 0
            combo.setCurrentIndex(max(0, index))
            combo.activated.connect(lambda i: set_value(combo.itemData(i), False))
            editor = combo
        elif kind == "bool":
            check = QCheckBox()
            check.setChecked(bool(value if value is not UNSET else default))
            check.toggled.connect(lambda on: set_value(on, False))
            editor = check
        elif kind == "number":
            spin = NumberBox()
            if matches(value, "number"):
                spin.setValue(float(value))
            else:
                # Unset: the minimum shows as text, so an unset number does not look like 0.
                spin.setSpecialValueText(
                    f"default: {format_number(default)}" if matches(default, "number") else "not set"
                )
                spin.setValue(spin.minimum())
            spin.valueChanged.connect(lambda _v: set_value(spin.number(), True))
            editor = spin
        elif kind in ("object", "list", "table"):
            editor = self._json_editor(value, kind, set_value)
        elif kind == "path":
            editor = self._path_editor(value, set_value)
        else:
            line = QLineEdit()
            if kind == "any":
                line.setText("" if value is UNSET else show_value(value))
                line.setPlaceholderText("a number, true/false, text or JSON")
                line.textEdited.connect(lambda t: set_value(parse_loose(t), True))
            else:
                line.setText("" if value is UNSET else str(value))
                if kind == "expression":
                    line.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
                line.textEdited.connect(lambda t: set_value(t, True))
            if value is UNSET and default not in (None, ""):
                line.setPlaceholderText(f"default: {show_value(default)}")
            editor = line
        editor.setObjectName(object_name)
        return editor

    def _json_editor(self, value: Any, kind: str, set_value: Callable[[Any, bool], None]) -> QWidget:
        edit = JsonEdit("" if value is UNSET else json.dumps(value, indent=1, ensure_ascii=False))
        edit.setPlaceholderText(f"{kind} as JSON")

        def changed() -> None:
            text = edit.toPlainText().strip()
            try:
                parsed = json.loads(text) if text else UNSET
            except (json.JSONDecodeError, RecursionError):
                edit.setStyleSheet("border: 1px solid #dc2626;")
                return
            if parsed is not UNSET and not matches(parsed, kind):
                edit.setStyleSheet("border: 1px solid #dc2626;")
                return
            edit.setStyleSheet("")
            set_value(parsed, True)

        edit.textChanged.connect(changed)
        return edit

    def _path_editor(self, value: Any, set_value: Callable[[Any, bool], None]) -> QWidget:
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        line = QLineEdit("" if value is UNSET else str(value))
        line.setObjectName("pathText")
        line.setPlaceholderText("file name, relative to the workflow")
        line.textEdited.connect(lambda t: set_value(t, True))
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip("Choose a file")

        def pick() -> None:
            doc = self.document
            folder = str(doc.workflow.folder) if doc is not None else ""
            chosen, _ = QFileDialog.getOpenFileName(self, "Choose a file", folder)
            if chosen:
                text = chosen
                if doc is not None and doc.path is not None:
                    try:
                        from pathlib import Path

                        text = str(Path(chosen).resolve().relative_to(doc.workflow.folder))
                    except ValueError:
                        text = chosen
                line.setText(text)
                set_value(text, False)

        browse.clicked.connect(pick)
        box.addWidget(line, 1)
        box.addWidget(browse)
        return row

    # -- applying edits ----------------------------------------------------------------

    def _set(self, name: str, value: Any, merge: bool) -> None:
        doc = self.document
        if doc is None or self.node_id is None or self.node_id not in doc.workflow.nodes:
            return
        params = doc.workflow.nodes[self.node_id].params
        if value is UNSET and name not in params:
            return
        if value is not UNSET and name in params and params[name] == value and type(params[name]) is type(value):
            return
        self._applying = True
        try:
            doc.push(SetParamCommand(doc.workflow, self.node_id, name, value, merge=merge))
        finally:
            self._applying = False
        if value is UNSET:
            self._schedule_rebuild()
        elif name in self._clear_buttons and name not in self._required:
            self._clear_buttons[name].setVisible(True)

    def _label_edited(self, text: str) -> None:
        doc = self.document
        if doc is None or self.node_id is None:
            return
        self._applying = True
        try:
            doc.push(SetLabelCommand(doc.workflow, self.node_id, text or None))
        finally:
            self._applying = False
