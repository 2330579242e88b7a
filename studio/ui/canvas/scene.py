"""The scene: draws a document's workflow, follows its model events, and offers edit operations."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneMouseEvent,
)

from studio.model.types import can_connect
from studio.model.workflow import Edge, Node, Note
from studio.ui import theme
from studio.ui.canvas.interactions import ConnectInteraction, MoveInteraction
from studio.ui.canvas.items import EdgeItem, NodeItem, NoteItem, PortItem
from studio.ui.clipboard import parse_clipboard, prepare_paste, selection_json
from studio.ui.commands import (
    AddEdgeCommand,
    AddNodeCommand,
    AddNoteCommand,
    EditNoteCommand,
    MoveNodesCommand,
    RemoveEdgeCommand,
    RemoveNodeCommand,
    RemoveNoteCommand,
    SetBreakpointCommand,
)
from studio.ui.document import Document
from studio.ui.layout import layered_positions

PASTE_OFFSET = 40.0
#: Live status changes on the canvas are drawn together at most this often (ms).
STATUS_FLUSH_MS = 100


class WorkflowScene(QGraphicsScene):
    """The canvas contents; edits go through the document's undo stack, never to items directly."""

    status_message = Signal(str)
    node_double_clicked = Signal(str)
    note_double_clicked = Signal(object)
    context_menu_requested = Signal(object, object, object)  # scene pos, screen pos, node id | None

    def __init__(self, document: Document) -> None:
        super().__init__()
        self.document = document
        self.node_items: dict[str, NodeItem] = {}
        self.edge_items: list[EdgeItem] = []
        self.note_items: list[NoteItem] = []
        self.snap_to_grid = True
        self.user_moving = False
        self._connect: ConnectInteraction | None = None
        self._move: MoveInteraction | None = None
        self._animation = QTimer(self)
        self._animation.setInterval(80)
        self._animation.timeout.connect(self._animate_running)
        self._pending_status: dict[str, tuple[str | None, str]] = {}
        self._status_timer = QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.setInterval(STATUS_FLUSH_MS)
        self._status_timer.timeout.connect(self.flush_node_status)
        self._rect_timer = QTimer(self)
        self._rect_timer.setSingleShot(True)
        self._rect_timer.setInterval(0)
        self._rect_timer.timeout.connect(self._update_scene_rect)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.set_document(document)

    # -- building from the model -------------------------------------------------------

    def set_document(self, document: Document) -> None:
        """Show another document (after New or Open)."""
        if self.document is not document:
            self.document.model_event.disconnect(self._on_model_event)
            self.document.problems_changed.disconnect(self._on_problems)
        self.document = document
        self.clear()
        self.node_items.clear()
        self.edge_items.clear()
        self.note_items.clear()
        for i, node in enumerate(document.workflow.nodes.values()):
            self._add_node_item(node, i)
        for edge in document.workflow.edges:
            self._add_edge_item(edge)
        for note in document.workflow.notes or []:
            self._add_note_item(note)
        document.model_event.connect(self._on_model_event)
        document.problems_changed.connect(self._on_problems)
        self._on_problems()
        self._update_scene_rect()

    def _add_node_item(self, node: Node, index: int | None = None) -> NodeItem:
        item = NodeItem(node, self.document.specs.get(node.type))
        if node.position is not None:
            item.setPos(node.position[0], node.position[1])
        else:
            i = len(self.node_items) if index is None else index
            item.setPos((i % 5) * 280.0, (i // 5) * 200.0)
        self.addItem(item)
        self.node_items[node.id] = item
        item.set_problems(self.document.node_problems.get(node.id, []))
        return item

    def _add_edge_item(self, edge: Edge) -> EdgeItem | None:
        src = self.node_items.get(edge.source)
        dst = self.node_items.get(edge.target)
        if src is None or dst is None:
            return None
        sport = src.port(edge.source_port, True)
        dport = dst.port(edge.target_port, False)
        if sport is None or dport is None:
            return None
        item = EdgeItem(edge, sport, dport)
        self.addItem(item)
        self.edge_items.append(item)
        self._refresh_connected(dst)
        self._refresh_connected(src)
        return item

    def _add_note_item(self, note: Note) -> NoteItem:
        item = NoteItem(note)
        item.setPos(note.position[0], note.position[1])
        self.addItem(item)
        self.note_items.append(item)
        return item

    def _refresh_connected(self, item: NodeItem) -> None:
        inputs = {e.edge.target_port for e in item.edges if e.target.node_item is item}
        outputs = {e.edge.source_port for e in item.edges if e.source.node_item is item}
        for (name, output), port in item.ports.items():
            connected = name in (outputs if output else inputs)
            if connected != port.connected:
                port.connected = connected
                port.update()
        item.refresh()

    def _on_model_event(self, event: str, payload: Any) -> None:
        if event == "node_added":
            self._add_node_item(payload)
        elif event == "node_removed":
            item = self.node_items.pop(payload.id, None)
            if item is not None:
                self.removeItem(item)
        elif event == "node_moved":
            item = self.node_items.get(payload.id)
            if item is not None and payload.position is not None:
                item.setPos(payload.position[0], payload.position[1])
        elif event == "node_changed":
            item = self.node_items.get(payload.id)
            if item is not None:
                item.refresh()
        elif event == "edge_added":
            self._add_edge_item(payload)
        elif event == "edge_removed":
            self._remove_edge_item(payload)
        elif event == "note_added":
            self._add_note_item(payload)
        elif event == "note_removed":
            found = self.note_item(payload)
            if found is not None:
                self.note_items.remove(found)
                self.removeItem(found)
        elif event == "note_changed":
            found = self.note_item(payload)
            if found is not None:
                found.setPos(payload.position[0], payload.position[1])
                found.refresh()
        if not self._rect_timer.isActive():
            self._rect_timer.start()

    def _remove_edge_item(self, edge: Edge) -> None:
        item = next((i for i in self.edge_items if i.edge == edge), None)
        if item is None:
            return
        self.edge_items.remove(item)
        item.detach()
        self.removeItem(item)
        self._refresh_connected(item.source.node_item)
        self._refresh_connected(item.target.node_item)

    def _on_problems(self) -> None:
        for node_id, item in self.node_items.items():
            item.set_problems(self.document.node_problems.get(node_id, []))

    def _update_scene_rect(self) -> None:
        rect = self.itemsBoundingRect().adjusted(-2000, -2000, 2000, 2000)
        self.setSceneRect(rect.united(self.sceneRect()))

    # -- lookups -----------------------------------------------------------------------

    def note_item(self, note: Note) -> NoteItem | None:
        return next((i for i in self.note_items if i.note is note), None)

    def edge_item_into(self, node_id: str, port: str) -> EdgeItem | None:
        return next((i for i in self.edge_items
                     if i.edge.target == node_id and i.edge.target_port == port), None)

    def selected_node_ids(self) -> list[str]:
        chosen = {i.node.id for i in self.selectedItems() if isinstance(i, NodeItem)}
        return [n for n in self.document.workflow.nodes if n in chosen]

    def selected_notes(self) -> list[Note]:
        return [i.note for i in self.note_items if i.isSelected()]

    def selected_edges(self) -> list[Edge]:
        return [i.edge for i in self.edge_items if i.isSelected()]

    def select_only(self, node_ids: list[str], notes: list[Note] | None = None) -> None:
        self.clearSelection()
        for node_id in node_ids:
            item = self.node_items.get(node_id)
            if item is not None:
                item.setSelected(True)
        for note in notes or []:
            found = self.note_item(note)
            if found is not None:
                found.setSelected(True)

    # -- edit operations (all through undo commands) ------------------------------------

    def add_node(self, type_id: str, pos: QPointF) -> str | None:
        """Add a node of ``type_id`` with its top-left near ``pos``; returns its id."""
        spec = self.document.specs.get(type_id)
        if spec is None:
            return None
        wf = self.document.workflow
        node_id = wf.new_id(type_id)
        params = {p.name: p.default for p in spec.params
                  if p.required and p.default not in (None, "")}
        same = sum(1 for n in wf.nodes.values() if n.type == type_id)
        label = spec.label if same == 0 else f"{spec.label} {same + 1}"
        x, y = self._snap(pos.x()), self._snap(pos.y())
        node = Node(node_id, type_id, params=params, label=label, position=(x, y))
        self.document.push(AddNodeCommand(wf, node))
        self.select_only([node_id])
        self.status_message.emit(f"Added {label}")
        return node_id

    def _snap(self, value: float) -> float:
        return float(round(value / theme.GRID) * theme.GRID) if self.snap_to_grid else value

    def delete_selection(self) -> None:
        """Delete selected nodes, edges and notes as one undo step."""
        node_ids = self.selected_node_ids()
        edges = [e for e in self.selected_edges()
                 if e.source not in node_ids and e.target not in node_ids]
        notes = self.selected_notes()
        if not node_ids and not edges and not notes:
            return
        wf = self.document.workflow
        count = len(node_ids) + len(edges) + len(notes)
        with self.document.macro(f"Delete {count} item{'s' if count > 1 else ''}"):
            for edge in edges:
                self.document.push(RemoveEdgeCommand(wf, edge))
            for node_id in node_ids:
                self.document.push(RemoveNodeCommand(wf, node_id))
            for note in notes:
                self.document.push(RemoveNoteCommand(wf, note))

    def toggle_breakpoint(self, node_id: str) -> None:
        node = self.document.workflow.nodes[node_id]
        self.document.push(SetBreakpointCommand(self.document.workflow, node_id, not node.breakpoint))

    def toggle_breakpoints(self, node_ids: list[str]) -> None:
        """Toggle on all (or off all, when every one is set) as one step."""
        if not node_ids:
            return
        wf = self.document.workflow
        on = not all(wf.nodes[n].breakpoint for n in node_ids)
        with self.document.macro("Toggle breakpoints"):
            for node_id in node_ids:
                self.document.push(SetBreakpointCommand(wf, node_id, on))

    def copy_selection(self) -> str | None:
        node_ids = self.selected_node_ids()
        notes = self.selected_notes()
        if not node_ids and not notes:
            return None
        return selection_json(self.document.workflow, node_ids, notes)

    def paste(self, text: str, at: QPointF | None = None) -> bool:
        """Paste workflow JSON as new nodes (fresh ids), selected afterwards; one undo step."""
        pasted = parse_clipboard(text)
        if pasted is None or (not pasted.nodes and not pasted.notes):
            self.status_message.emit("Nothing to paste: the clipboard holds no workflow nodes.")
            return False
        offset = (PASTE_OFFSET, PASTE_OFFSET)
        if at is not None:
            corners = [n.position for n in pasted.nodes.values() if n.position is not None]
            corners += [n.position for n in pasted.notes or []]
            if corners:
                left = min(p[0] for p in corners)
                top = min(p[1] for p in corners)
                offset = (self._snap(at.x() - left), self._snap(at.y() - top))
        wf = self.document.workflow
        nodes, edges, notes = prepare_paste(wf, pasted, offset)
        with self.document.macro(f"Paste {len(nodes)} node{'s' if len(nodes) != 1 else ''}"):
            for node in nodes:
                self.document.push(AddNodeCommand(wf, node))
            for edge in edges:
                self.document.push(AddEdgeCommand(wf, edge))
            for note in notes:
                self.document.push(AddNoteCommand(wf, note))
        self.select_only([n.id for n in nodes], notes)
        return True

    def add_note(self, pos: QPointF, text: str = "New note: double-click to edit") -> Note:
        note = Note(text, (self._snap(pos.x()), self._snap(pos.y())))
        self.document.push(AddNoteCommand(self.document.workflow, note))
        self.select_only([], [note])
        return note

    def edit_note(self, note: Note, text: str) -> None:
        if text != note.text:
            self.document.push(EditNoteCommand(self.document.workflow, note, text))

    def auto_layout(self) -> None:
        """Lay the graph out in columns (left to right) as one undo step."""
        wf = self.document.workflow
        if not wf.nodes:
            return

        def size_of(node_id: str) -> tuple[float, float]:
            rect = self.node_items[node_id].body_rect()
            return rect.width(), rect.height()

        first = next(iter(wf.nodes.values())).position or (0.0, 0.0)
        positions = layered_positions(wf, size_of, origin=(first[0], first[1]))
        moves = {}
        for node_id, new in positions.items():
            item = self.node_items[node_id]
            old = (item.pos().x(), item.pos().y())
            if old != new:
                moves[node_id] = (old, new)
        if moves:
            self.document.push(MoveNodesCommand(wf, moves, text="Auto-layout"))
            self.status_message.emit("Laid out the workflow left to right.")

    def insert_ports(self, item: NodeItem, edge: Edge) -> tuple[PortItem, PortItem] | None:
        """The first input and output of ``item`` that fit into ``edge``, if any."""
        src = self.node_items.get(edge.source)
        dst = self.node_items.get(edge.target)
        if src is None or dst is None or item.node.id in (edge.source, edge.target):
            return None
        sport = src.port(edge.source_port, True)
        dport = dst.port(edge.target_port, False)
        if sport is None or dport is None:
            return None
        inputs = [p for p in item.ports.values() if not p.output and can_connect(sport.port_type, p.port_type)]
        outputs = [p for p in item.ports.values() if p.output and can_connect(p.port_type, dport.port_type)]
        if not inputs or not outputs:
            return None
        return inputs[0], outputs[0]

    def insert_into_edge(self, node_id: str, edge: Edge) -> None:
        """Replace ``edge`` by two edges through ``node_id`` (called inside a macro)."""
        ports = self.insert_ports(self.node_items[node_id], edge)
        if ports is None:
            return
        inp, out = ports
        wf = self.document.workflow
        self.document.push(RemoveEdgeCommand(wf, edge))
        self.document.push(AddEdgeCommand(wf, Edge(edge.source, edge.source_port, node_id, inp.name)))
        self.document.push(AddEdgeCommand(wf, Edge(node_id, out.name, edge.target, edge.target_port)))
        self.status_message.emit(f"Inserted {wf.nodes[node_id].title} into the edge")

    # -- run status (the debugger colours nodes) --------------------------------------

    def set_node_status(self, statuses: dict[str, tuple[str | None, str]]) -> None:
        """Colour nodes by run status: ``{node_id: (status, detail)}``; others become idle."""
        self._status_timer.stop()
        self._pending_status = {}  # older than these
        for node_id, item in self.node_items.items():
            status, detail = statuses.get(node_id, (None, ""))
            item.set_status(status, detail)
        running = any(s == "running" for s, _ in statuses.values())
        if running and not self._animation.isActive():
            self._animation.start()
        elif not running:
            self._animation.stop()

    def update_node_status(self, changes: dict[str, tuple[str | None, str]]) -> None:
        """Recolour only the nodes in ``changes`` (live events); the others keep theirs.

        Changes are gathered (the newest per node wins) and drawn together at most every
        ``STATUS_FLUSH_MS``: a fast run changes many nodes a second, and each redraw of the
        canvas costs the GUI thread far more than keeping a colour a moment longer.
        """
        self._pending_status.update(changes)
        if not self._status_timer.isActive():
            self._status_timer.start()

    def flush_node_status(self) -> None:
        """Draw the status changes gathered by ``update_node_status`` now."""
        self._status_timer.stop()
        changes, self._pending_status = self._pending_status, {}
        if not changes:
            return
        for node_id, (status, detail) in changes.items():
            item = self.node_items.get(node_id)
            if item is not None:
                item.set_status(status, detail)
        running = any(item.status == "running" for item in self.node_items.values())
        if running and not self._animation.isActive():
            self._animation.start()
        elif not running:
            self._animation.stop()

    def _animate_running(self) -> None:
        for item in self.node_items.values():
            if item.status == "running":
                item.dash_offset = (item.dash_offset - 1.0) % 12.0
                item.update()

    # -- gestures ----------------------------------------------------------------------

    def _port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos, Qt.ItemSelectionMode.IntersectsItemShape,
                               Qt.SortOrder.DescendingOrder, QTransform()):
            if isinstance(item, PortItem):
                return item
            if isinstance(item, NodeItem):
                return None
        return None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            port = self._port_at(event.scenePos())
            if port is not None:
                self._connect = ConnectInteraction(self, port)
                event.accept()
                return
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and self.selectedItems():
            grabber = self.mouseGrabberItem()
            if grabber is not None and grabber.flags() & QGraphicsItem.GraphicsItemFlag.ItemIsMovable:
                self._move = MoveInteraction(self)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if self._connect is not None:
            self._connect.move(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if self._connect is not None and event.button() == Qt.MouseButton.LeftButton:
            interaction, self._connect = self._connect, None
            interaction.finish(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if self._move is not None and event.button() == Qt.MouseButton.LeftButton:
            interaction, self._move = self._move, None
            interaction.finish()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape and self._connect is not None:
            self._connect.cancel()
            self._connect = None
            event.accept()
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QGraphicsSceneContextMenuEvent) -> None:  # noqa: N802
        node_id = None
        for item in self.items(event.scenePos()):
            if isinstance(item, NodeItem):
                node_id = item.node.id
                if not item.isSelected():
                    self.select_only([node_id])
                break
        self.context_menu_requested.emit(event.scenePos(), event.screenPos(), node_id)
        event.accept()

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        c = theme.canvas_colours()
        painter.fillRect(rect, c.background)
        views = self.views()
        scale = views[0].transform().m11() if views else 1.0
        if scale < 0.35:
            return
        grid = theme.GRID
        left = math.floor(rect.left() / grid) * grid
        top = math.floor(rect.top() / grid) * grid
        lines: tuple[list[QLineF], list[QLineF]] = ([], [])  # minor, major
        x = left
        while x < rect.right():
            lines[int(round(x / grid)) % 5 == 0].append(QLineF(x, rect.top(), x, rect.bottom()))
            x += grid
        y = top
        while y < rect.bottom():
            lines[int(round(y / grid)) % 5 == 0].append(QLineF(rect.left(), y, rect.right(), y))
            y += grid
        # Hairlines on whole pixels need no antialiasing; two calls instead of one per line
        # (the background is redrawn under every node that changes while a run goes on).
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for pen_colour, group in ((c.grid_minor, lines[0]), (c.grid_major, lines[1])):
            if group:
                painter.setPen(QPen(pen_colour, 0))
                painter.drawLines(group)
        painter.restore()
