"""Undo commands: every edit of the workflow, each changing the model only through its methods.

The scene never changes here: it hears the model's events and follows.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

from studio.model.workflow import Edge, Node, Note, Workflow

_MERGE_PARAM = 1001
_MERGE_LABEL = 1002
_MERGE_NOTE_TEXT = 1003


class AddNodeCommand(QUndoCommand):
    """Add one node (at the end of the node list, or at ``index``)."""

    def __init__(self, workflow: Workflow, node: Node, index: int | None = None,
                 parent: QUndoCommand | None = None) -> None:
        super().__init__(f"Add {node.title}", parent)
        self.workflow = workflow
        self.node = node
        self.index = index

    def redo(self) -> None:
        self.workflow.add_node(self.node, self.index)

    def undo(self) -> None:
        self.workflow.remove_node(self.node.id)


class RemoveNodeCommand(QUndoCommand):
    """Remove a node with its edges; undo puts all of them back where they were."""

    def __init__(self, workflow: Workflow, node_id: str, parent: QUndoCommand | None = None) -> None:
        super().__init__(f"Delete {workflow.nodes[node_id].title}", parent)
        self.workflow = workflow
        self.node_id = node_id
        self._removed: tuple[Node, int, list[tuple[int, Edge]]] | None = None

    def redo(self) -> None:
        self._removed = self.workflow.remove_node(self.node_id)

    def undo(self) -> None:
        assert self._removed is not None
        node, index, edges = self._removed
        self.workflow.add_node(node, index)
        for i, edge in edges:
            self.workflow.add_edge(edge, i)


class AddEdgeCommand(QUndoCommand):
    """Connect two ports; an edge already feeding the input port is replaced."""

    def __init__(self, workflow: Workflow, edge: Edge, parent: QUndoCommand | None = None) -> None:
        super().__init__(f"Connect {edge}", parent)
        self.workflow = workflow
        self.edge = edge
        self._replaced: tuple[int, Edge] | None = None

    def redo(self) -> None:
        old = self.workflow.edge_into(self.edge.target, self.edge.target_port)
        self._replaced = None
        if old is not None:
            self._replaced = (self.workflow.remove_edge(old), old)
        self.workflow.add_edge(self.edge)

    def undo(self) -> None:
        self.workflow.remove_edge(self.edge)
        if self._replaced is not None:
            index, old = self._replaced
            self.workflow.add_edge(old, index)


class RemoveEdgeCommand(QUndoCommand):
    def __init__(self, workflow: Workflow, edge: Edge, parent: QUndoCommand | None = None) -> None:
        super().__init__(f"Disconnect {edge}", parent)
        self.workflow = workflow
        self.edge = edge
        self._index = 0

    def redo(self) -> None:
        self._index = self.workflow.remove_edge(self.edge)

    def undo(self) -> None:
        self.workflow.add_edge(self.edge, self._index)


class MoveNodesCommand(QUndoCommand):
    """Move nodes and notes (one drag, or an auto-layout) as one step."""

    def __init__(
        self,
        workflow: Workflow,
        nodes: dict[str, tuple[tuple[float, float], tuple[float, float]]],
        notes: list[tuple[Note, tuple[float, float], tuple[float, float]]] | None = None,
        text: str = "Move",
        parent: QUndoCommand | None = None,
    ) -> None:
        super().__init__(text, parent)
        self.workflow = workflow
        self.nodes = nodes
        self.notes = notes or []

    def _apply(self, which: int) -> None:
        for node_id, positions in self.nodes.items():
            self.workflow.move_node(node_id, positions[which])
        for note, old, new in self.notes:
            self.workflow.change_note(note, position=(old, new)[which])

    def redo(self) -> None:
        self._apply(1)

    def undo(self) -> None:
        self._apply(0)


class SetParamCommand(QUndoCommand):
    """Set (or with ``...`` remove) one param; consecutive typing in one field merges."""

    def __init__(self, workflow: Workflow, node_id: str, name: str, value: Any,
                 merge: bool = False, parent: QUndoCommand | None = None) -> None:
        super().__init__(f"Edit {name} of {workflow.nodes[node_id].title}", parent)
        self.workflow = workflow
        self.node_id = node_id
        self.name = name
        params = workflow.nodes[node_id].params
        self.old: Any = copy.deepcopy(params[name]) if name in params else ...
        self.new: Any = copy.deepcopy(value)
        self.merge = merge

    def id(self) -> int:
        return _MERGE_PARAM

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not (isinstance(other, SetParamCommand) and self.merge and other.merge):
            return False
        if (other.node_id, other.name) != (self.node_id, self.name):
            return False
        self.new = copy.deepcopy(other.new)
        return True

    def redo(self) -> None:
        self.workflow.set_param(self.node_id, self.name, self.new)

    def undo(self) -> None:
        self.workflow.set_param(self.node_id, self.name, self.old)


class SetLabelCommand(QUndoCommand):
    def __init__(self, workflow: Workflow, node_id: str, label: str | None,
                 parent: QUndoCommand | None = None) -> None:
        super().__init__(f"Rename {workflow.nodes[node_id].title}", parent)
        self.workflow = workflow
        self.node_id = node_id
        self.old = workflow.nodes[node_id].label
        self.new = label

    def id(self) -> int:
        return _MERGE_LABEL

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if isinstance(other, SetLabelCommand) and other.node_id == self.node_id:
            self.new = other.new
            return True
        return False

    def redo(self) -> None:
        self.workflow.set_label(self.node_id, self.new)

    def undo(self) -> None:
        self.workflow.set_label(self.node_id, self.old)


class SetBreakpointCommand(QUndoCommand):
    def __init__(self, workflow: Workflow, node_id: str, on: bool,
                 parent: QUndoCommand | None = None) -> None:
        verb = "Set" if on else "Clear"
        super().__init__(f"{verb} breakpoint on {workflow.nodes[node_id].title}", parent)
        self.workflow = workflow
        self.node_id = node_id
        self.old = workflow.nodes[node_id].breakpoint
        self.old_raw = workflow.nodes[node_id].raw.get("breakpoint")
        self.new = on

    def redo(self) -> None:
        self.workflow.set_breakpoint(self.node_id, self.new)

    def undo(self) -> None:
        # Exactly as before, so that undo does not add '"breakpoint": false' to the file.
        node = self.workflow.nodes[self.node_id]
        self.workflow.set_breakpoint(self.node_id, bool(self.old))
        node.breakpoint = self.old
        if self.old_raw is not None:
            node.raw["breakpoint"] = self.old_raw


class AddNoteCommand(QUndoCommand):
    def __init__(self, workflow: Workflow, note: Note, index: int | None = None,
                 parent: QUndoCommand | None = None) -> None:
        super().__init__("Add note", parent)
        self.workflow = workflow
        self.note = note
        self.index = index

    def redo(self) -> None:
        self.workflow.add_note(self.note, self.index)

    def undo(self) -> None:
        self.workflow.remove_note(self.note)


class RemoveNoteCommand(QUndoCommand):
    def __init__(self, workflow: Workflow, note: Note, parent: QUndoCommand | None = None) -> None:
        super().__init__("Delete note", parent)
        self.workflow = workflow
        self.note = note
        self._index = 0

    def redo(self) -> None:
        self._index = self.workflow.remove_note(self.note)

    def undo(self) -> None:
        self.workflow.add_note(self.note, self._index)


class EditNoteCommand(QUndoCommand):
    def __init__(self, workflow: Workflow, note: Note, text: str,
                 parent: QUndoCommand | None = None) -> None:
        super().__init__("Edit note", parent)
        self.workflow = workflow
        self.note = note
        self.old = note.text
        self.new = text

    def id(self) -> int:
        return _MERGE_NOTE_TEXT

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if isinstance(other, EditNoteCommand) and other.note is self.note:
            self.new = other.new
            return True
        return False

    def redo(self) -> None:
        self.workflow.change_note(self.note, text=self.new)

    def undo(self) -> None:
        self.workflow.change_note(self.note, text=self.old)
