"""The open workflow with its undo stack and its validation problems."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from studio.model.spec import NodeSpec
from studio.model.validate import validate_data
from studio.model.workflow import Workflow
from studio.nodes import specs as node_specs

_NODE_PROBLEM = re.compile(r"^node '([^']+)': (.*)$")
_EDGE_PROBLEM = re.compile(r"^edge [^ ]+ -> ([^.]+)\.[^:]+: (.*)$")


class Document(QObject):
    """One workflow being edited: the model, its undo stack, and what validation says."""

    problems_changed = Signal()
    model_event = Signal(str, object)

    def __init__(self, workflow: Workflow | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workflow = workflow if workflow is not None else Workflow(name="Untitled")
        self.specs: Mapping[str, NodeSpec] = node_specs()
        self.undo_stack = QUndoStack(self)
        self.problems: list[str] = []
        self.node_problems: dict[str, list[str]] = {}
        self._revalidate_timer = QTimer(self)
        self._revalidate_timer.setSingleShot(True)
        self._revalidate_timer.setInterval(30)
        self._revalidate_timer.timeout.connect(self.revalidate)
        self.workflow.subscribe(self._on_model_event)
        self.revalidate()

    @classmethod
    def load(cls, path: str | Path, parent: QObject | None = None) -> Document:
        return cls(Workflow.load(path), parent)

    @property
    def path(self) -> Path | None:
        return self.workflow.path

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    def close(self) -> None:
        """Stop listening to the model (the document is being replaced)."""
        self.workflow.unsubscribe(self._on_model_event)
        self._revalidate_timer.stop()

    def push(self, command: QUndoCommand) -> None:
        self.undo_stack.push(command)

    def macro(self, text: str) -> _Macro:
        """``with doc.macro("Delete"): doc.push(...)`` groups edits into one undo step."""
        return _Macro(self.undo_stack, text)

    def save(self, path: str | Path | None = None) -> Path:
        target = self.workflow.save(path)
        self.undo_stack.setClean()
        return target

    def spec_of(self, node_id: str) -> NodeSpec | None:
        node = self.workflow.nodes.get(node_id)
        return self.specs.get(node.type) if node is not None else None

    def port_type(self, node_id: str, port: str, output: bool) -> str | None:
        spec = self.spec_of(node_id)
        if spec is None:
            return None
        found = spec.output(port) if output else spec.input(port)
        return found.type if found is not None else None

    def revalidate(self) -> None:
        """Run validation and sort the problems by node (edge problems go to the target node)."""
        problems = validate_data(self.workflow.to_dict(), self.specs)
        by_node: dict[str, list[str]] = {}
        for line in problems:
            match = _NODE_PROBLEM.match(line) or _EDGE_PROBLEM.match(line)
            if match:
                by_node.setdefault(match.group(1), []).append(line)
        self.problems = problems
        self.node_problems = by_node
        self.problems_changed.emit()

    def _on_model_event(self, event: str, payload: Any) -> None:
        self.model_event.emit(event, payload)
        if event != "node_moved" and event != "note_changed":
            self._revalidate_timer.start()


class _Macro:
    def __init__(self, stack: QUndoStack, text: str) -> None:
        self.stack = stack
        self.text = text

    def __enter__(self) -> _Macro:
        self.stack.beginMacro(self.text)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.endMacro()
