"""Mouse gestures on the canvas, one class each: drag a new edge, move items (and drop on an edge)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from studio.model.types import can_connect
from studio.model.workflow import Edge, Note
from studio.ui import theme
from studio.ui.canvas.items import EdgeItem, NodeItem, NoteItem, PortItem, bezier
from studio.ui.commands import AddEdgeCommand, MoveNodesCommand, RemoveEdgeCommand

if TYPE_CHECKING:
    from studio.ui.canvas.scene import WorkflowScene

SNAP_DISTANCE = 16.0


def connection_problem(scene: WorkflowScene, source: PortItem, target: PortItem) -> str | None:
    """Why ``source`` (an output) may not feed ``target`` (an input), or ``None`` when it may."""
    if source.output == target.output:
        return "Connect an output (right side of a node) to an input (left side)."
    if not source.output:
        source, target = target, source
    if source.node_id == target.node_id:
        return "A node cannot feed itself."
    if not can_connect(source.port_type, target.port_type):
        return (
            f"Cannot connect: '{source.name}' gives {source.port_type}, "
            f"but '{target.name}' needs {target.port_type}."
        )
    if scene.document.workflow.would_cycle(source.node_id, target.node_id):
        return (
            f"Cannot connect {source.node_item.node.title} to {target.node_item.node.title}: "
            "it would make a loop, and workflows must not loop back."
        )
    return None


class ConnectInteraction:
    """Drag from a port to another port; a live curve follows the mouse.

    Starting on an input that already has an edge picks that edge up: dropping it on
    another input moves it, dropping it on empty canvas disconnects it.
    """

    def __init__(self, scene: WorkflowScene, port: PortItem) -> None:
        self.scene = scene
        self.picked_up: EdgeItem | None = None
        if not port.output and port.connected:
            self.picked_up = scene.edge_item_into(port.node_id, port.name)
        if self.picked_up is not None:
            self.picked_up.setVisible(False)
            self.anchor = self.picked_up.source
        else:
            self.anchor = port
        self.preview = QGraphicsPathItem()
        pen = QPen(theme.port_colour(self.anchor.port_type), 2.2, Qt.PenStyle.DashLine)
        self.preview.setPen(pen)
        self.preview.setZValue(5)
        scene.addItem(self.preview)
        for node_item in scene.node_items.values():
            for other in node_item.ports.values():
                if other.output != self.anchor.output:
                    other.highlight = connection_problem(scene, self.anchor, other) is None
                    other.update()
        self.move(self.anchor.anchor())

    def _target_at(self, pos: QPointF) -> PortItem | None:
        """The nearest port of the other direction within snapping distance of ``pos``."""
        area = QRectF(pos.x() - SNAP_DISTANCE, pos.y() - SNAP_DISTANCE,
                      2 * SNAP_DISTANCE, 2 * SNAP_DISTANCE)
        candidates = [
            item for item in self.scene.items(area)
            if isinstance(item, PortItem) and item.output != self.anchor.output
        ]
        if not candidates:
            return None
        return min(candidates, key=lambda item: (item.anchor() - pos).manhattanLength())

    def move(self, pos: QPointF) -> None:
        target = self._target_at(pos)
        end = target.anchor() if target is not None and target.highlight else pos
        start = self.anchor.anchor()
        path = bezier(start, end) if self.anchor.output else bezier(end, start)
        self.preview.setPath(path)
        colour = QColor(theme.port_colour(self.anchor.port_type))
        if target is not None and not target.highlight:
            colour = QColor("#dc2626")
        pen = self.preview.pen()
        pen.setColor(colour)
        self.preview.setPen(pen)

    def _cleanup(self) -> None:
        self.scene.removeItem(self.preview)
        for node_item in self.scene.node_items.values():
            for other in node_item.ports.values():
                if other.highlight is not None:
                    other.highlight = None
                    other.update()
        if self.picked_up is not None:
            self.picked_up.setVisible(True)

    def cancel(self) -> None:
        self._cleanup()

    def finish(self, pos: QPointF) -> None:
        target = self._target_at(pos)
        self._cleanup()
        doc = self.scene.document
        picked = self.picked_up.edge if self.picked_up is not None else None
        if target is None:
            if picked is not None:
                doc.push(RemoveEdgeCommand(doc.workflow, picked))
            return
        problem = connection_problem(self.scene, self.anchor, target)
        if problem is not None:
            self.scene.status_message.emit(problem)
            return
        source, dest = (self.anchor, target) if self.anchor.output else (target, self.anchor)
        edge = Edge(source.node_id, source.name, dest.node_id, dest.name)
        if edge == picked or edge in doc.workflow.edges:
            return
        if picked is not None:
            with doc.macro("Reconnect"):
                doc.push(RemoveEdgeCommand(doc.workflow, picked))
                doc.push(AddEdgeCommand(doc.workflow, edge))
        else:
            doc.push(AddEdgeCommand(doc.workflow, edge))
        self.scene.status_message.emit(f"Connected {edge}")


class MoveInteraction:
    """Move the selected nodes and notes; one undo step per drag; drop a lone node on an edge."""

    def __init__(self, scene: WorkflowScene) -> None:
        self.scene = scene
        self.start_nodes = {
            item.node.id: (item.pos().x(), item.pos().y())
            for item in scene.selectedItems() if isinstance(item, NodeItem)
        }
        self.start_notes: list[tuple[Note, tuple[float, float]]] = [
            (item.note, (item.pos().x(), item.pos().y()))
            for item in scene.selectedItems() if isinstance(item, NoteItem)
        ]
        scene.user_moving = True

    def finish(self) -> None:
        scene = self.scene
        scene.user_moving = False
        moves: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {}
        for node_id, old in self.start_nodes.items():
            item = scene.node_items.get(node_id)
            if item is not None and (item.pos().x(), item.pos().y()) != old:
                moves[node_id] = (old, (item.pos().x(), item.pos().y()))
        notes = []
        for note, old in self.start_notes:
            item = scene.note_item(note)
            if item is not None and (item.pos().x(), item.pos().y()) != old:
                notes.append((note, old, (item.pos().x(), item.pos().y())))
        if not moves and not notes:
            return
        doc = scene.document
        target_edge = self._edge_under_lone_node(moves) if not notes else None
        if target_edge is None:
            doc.push(MoveNodesCommand(doc.workflow, moves, notes))
            return
        node_id = next(iter(moves))
        with doc.macro("Insert into edge"):
            doc.push(MoveNodesCommand(doc.workflow, moves))
            scene.insert_into_edge(node_id, target_edge)

    def _edge_under_lone_node(
        self, moves: dict[str, tuple[tuple[float, float], tuple[float, float]]]
    ) -> Edge | None:
        if len(moves) != 1:
            return None
        item = self.scene.node_items[next(iter(moves))]
        if item.edges:
            return None
        body = item.mapToScene(item.body_rect()).boundingRect()
        for other in self.scene.items(body):
            if isinstance(other, EdgeItem) and self.scene.insert_ports(item, other.edge) is not None:
                return other.edge
        return None
