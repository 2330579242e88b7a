"""What the canvas draws: nodes with ports, edges (bezier curves) and sticky notes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsRectItem,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from studio.model.spec import NodeSpec
from studio.model.workflow import Edge, Node, Note
from studio.ui import theme

if TYPE_CHECKING:
    from studio.ui.canvas.scene import WorkflowScene

NODE_WIDTH = 200.0
HEADER = 34.0
ROW = 22.0
PAD = 6.0
SUMMARY_LINE = 16.0
GUTTER = 20.0
PORT_RADIUS = 5.5
STATUS_LABELS = {
    "queued": "queued",
    "running": "running…",
    "done": "done",
    "failed": "failed",
    "skipped": "skipped",
    "paused": "paused here",
    "stale": "will re-run",
}


def base_font() -> QFont:
    """The canvas text font (the application font, independent of what was painted before)."""
    return QFont(QGuiApplication.font())


def short_value(value: Any, limit: int = 28) -> str:
    """A value as one short line of JSON-ish text for display on a node."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Node, port and edge items keep their bounding rectangle in Qt (a rect or path item's own,
# no ``boundingRect`` written in Python): the scene asks for it all the time, and each call
# into Python from the GUI thread may wait for the GIL while a run goes on on another thread.


class PortItem(QGraphicsRectItem):
    """A port: a coloured dot on the left (inputs) or right (outputs) edge of a node."""

    def __init__(self, parent: NodeItem, name: str, port_type: str, output: bool,
                 description: str = "") -> None:
        super().__init__(QRectF(-9, -9, 18, 18), parent)
        self.setPen(Qt.PenStyle.NoPen)
        self.node_item = parent
        self.name = name
        self.port_type = port_type
        self.output = output
        self.connected = False
        #: ``None``: not part of a drag; ``True``/``False``: a valid/invalid drop target.
        self.highlight: bool | None = None
        self._hover = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        kind = "output" if self.output else "input"
        tip = f"{name} ({port_type} {kind})"
        self.setToolTip(f"{tip}\n{description}" if description else tip)
        self.setZValue(2)

    @property
    def node_id(self) -> str:
        return self.node_item.node.id

    def anchor(self) -> QPointF:
        """Where edges attach, in scene coordinates."""
        return self.scenePos()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        colour = theme.port_colour(self.port_type)
        radius = PORT_RADIUS
        if self.highlight is True or self._hover:
            radius += 2.0
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.highlight is True:
            glow = QColor(colour)
            glow.setAlpha(90)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(glow)
            painter.drawEllipse(QPointF(0, 0), radius + 4, radius + 4)
        if self.highlight is False:
            colour.setAlpha(60)
        body = theme.canvas_colours().node_body
        painter.setPen(QPen(colour, 2.0))
        painter.setBrush(colour if self.connected or self.highlight else body)
        painter.drawEllipse(QPointF(0, 0), radius, radius)

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # noqa: N802
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # noqa: N802
        self._hover = False
        self.update()


class NodeItem(QGraphicsRectItem):
    """A node: header with breakpoint gutter, icon and title; a row per port; a param summary."""

    def __init__(self, node: Node, spec: NodeSpec | None) -> None:
        super().__init__()
        self.setPen(Qt.PenStyle.NoPen)
        self.node = node
        self.spec = spec
        self.ports: dict[tuple[str, bool], PortItem] = {}
        self.edges: set[EdgeItem] = set()
        self.problems: list[str] = []
        self.status: str | None = None
        self.status_detail = ""
        self.dash_offset = 0.0
        self._height = HEADER
        self._summary: list[str] = []
        self._hover_gutter = False
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
        )
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(1)
        self._build_ports()
        self.refresh()

    # -- geometry ----------------------------------------------------------------------

    def _build_ports(self) -> None:
        if self.spec is None:
            return
        for i, port in enumerate(self.spec.inputs):
            item = PortItem(self, port.name, port.type, False, port.description)
            item.setPos(0, self._row_y(i))
            self.ports[(port.name, False)] = item
        for i, port in enumerate(self.spec.outputs):
            item = PortItem(self, port.name, port.type, True, port.description)
            item.setPos(NODE_WIDTH, self._row_y(i))
            self.ports[(port.name, True)] = item

    @staticmethod
    def _row_y(i: int) -> float:
        return HEADER + PAD + i * ROW + ROW / 2

    def rows(self) -> int:
        if self.spec is None:
            return 0
        return max(len(self.spec.inputs), len(self.spec.outputs))

    def body_rect(self) -> QRectF:
        return QRectF(0, 0, NODE_WIDTH, self._height)

    def _fit_bounds(self) -> None:
        # Room above the body for the status pill and around it for the selection outline.
        bounds = QRectF(-4, -22, NODE_WIDTH + 8, self._height + 26)
        if bounds != self.rect():
            self.setRect(bounds)  # tells the scene first, as prepareGeometryChange would

    def gutter_rect(self) -> QRectF:
        return QRectF(0, 0, GUTTER, HEADER)

    def port(self, name: str, output: bool) -> PortItem | None:
        return self.ports.get((name, output))

    def refresh(self) -> None:
        """Re-read the model node (title, params, breakpoint) and redraw."""
        connected_inputs = {p.name for p in self.ports.values() if not p.output and p.connected}
        self._summary = self._summary_lines(connected_inputs)
        self._height = HEADER + PAD * 2 + self.rows() * ROW + len(self._summary) * SUMMARY_LINE
        if self.rows() == 0 and not self._summary:
            self._height = HEADER + PAD
        self._fit_bounds()
        self._update_tooltip()
        self.update()

    def _summary_lines(self, connected_inputs: set[str]) -> list[str]:
        if self.spec is None:
            return [f"unknown type '{self.node.type}'"]
        ports = {p.name for p in self.spec.inputs}
        lines = []
        for param in self.spec.params:
            if param.name in self.node.params and param.name not in ports:
                lines.append(f"{param.name}: {short_value(self.node.params[param.name])}")
        return lines[:3]

    def _update_tooltip(self) -> None:
        parts = [f"{self.node.title}  ({self.node.id}, {self.spec.label if self.spec else self.node.type})"]
        if self.spec is not None and self.spec.description:
            parts.append(self.spec.description)
        if self.status_detail:
            parts.append(self.status_detail)
        parts.extend(f"⚠ {p.split(': ', 1)[-1]}" for p in self.problems)
        self.setToolTip("\n".join(parts))

    def set_problems(self, problems: list[str]) -> None:
        if problems != self.problems:
            self.problems = problems
            self._update_tooltip()
            self.update()

    def set_status(self, status: str | None, detail: str = "") -> None:
        if (status, detail) != (self.status, self.status_detail):
            self.status = status
            self.status_detail = detail
            self._update_tooltip()
            self.update()

    # -- painting ----------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        c = theme.canvas_colours()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        rect = self.body_rect()
        status_colour = QColor(theme.STATUS_COLOURS[self.status]) if self.status else None

        body = QColor(c.node_body)
        if self.status == "skipped":
            body.setAlpha(150)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(body)
        painter.drawRoundedRect(rect, 7, 7)

        header = QPainterPath()
        header.addRoundedRect(QRectF(0, 0, NODE_WIDTH, HEADER), 7, 7)
        header.addRect(QRectF(0, HEADER - 8, NODE_WIDTH, 8))
        tint = QColor(status_colour) if status_colour else QColor(c.node_header)
        if status_colour:
            tint.setAlpha(70 if self.status != "skipped" else 35)
        painter.fillPath(header.simplified(), c.node_header)
        if status_colour:
            painter.fillPath(header.simplified(), tint)

        # Border: selection wins, then run status, then the plain border.
        if self.isSelected():
            pen = QPen(c.node_selected, 2.5)
        elif status_colour is not None:
            pen = QPen(status_colour, 2.5)
            if self.status == "running":
                pen.setStyle(Qt.PenStyle.DashLine)
                pen.setDashOffset(self.dash_offset)
        else:
            pen = QPen(c.node_border, 1.2)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect, 7, 7)

        self._paint_gutter(painter, c)
        icon = theme.category_icon(self.spec.category if self.spec else "")
        icon.paint(painter, QRectF(GUTTER, (HEADER - 18) / 2, 18, 18).toRect())

        title_font = base_font()
        title_font.setBold(True)
        painter.setFont(title_font)
        painter.setPen(c.text if self.status != "skipped" else c.text_dim)
        title_rect = QRectF(GUTTER + 24, 0, NODE_WIDTH - GUTTER - 24 - 26, HEADER)
        title = QFontMetricsF(title_font).elidedText(
            self.node.title, Qt.TextElideMode.ElideRight, title_rect.width()
        )
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, title)

        if self.problems:
            self._paint_warning(painter, c)
        if self.status:
            self._paint_status_pill(painter, status_colour or c.text_dim)
        self._paint_ports(painter, c)

    def _paint_gutter(self, painter: QPainter, c: theme.CanvasColours) -> None:
        centre = QPointF(GUTTER / 2 + 2, HEADER / 2)
        if self.node.breakpoint:
            painter.setPen(QPen(QColor("#ffffff"), 1.2))
            painter.setBrush(QColor("#dc2626"))
            painter.drawEllipse(centre, 6, 6)
        elif self._hover_gutter:
            faint = QColor("#dc2626")
            faint.setAlpha(90)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(faint)
            painter.drawEllipse(centre, 6, 6)

    def _paint_warning(self, painter: QPainter, c: theme.CanvasColours) -> None:
        x, y = NODE_WIDTH - 24, (HEADER - 18) / 2
        triangle = QPainterPath()
        triangle.moveTo(x + 9, y)
        triangle.lineTo(x + 18, y + 17)
        triangle.lineTo(x, y + 17)
        triangle.closeSubpath()
        painter.fillPath(triangle, c.warning)
        painter.setPen(QColor("#ffffff"))
        font = base_font()
        font.setBold(True)
        font.setPointSizeF(max(6.0, font.pointSizeF() - 1))
        painter.setFont(font)
        painter.drawText(QRectF(x, y + 4, 18, 13), Qt.AlignmentFlag.AlignCenter, "!")

    def _paint_status_pill(self, painter: QPainter, colour: QColor) -> None:
        font = base_font()
        font.setBold(False)
        font.setPointSizeF(max(6.0, font.pointSizeF() - 1.5))
        painter.setFont(font)
        text = STATUS_LABELS.get(self.status or "", self.status or "")
        width = QFontMetricsF(font).horizontalAdvance(text) + 14
        pill = QRectF(NODE_WIDTH - width, -20, width, 16)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(pill, 8, 8)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_ports(self, painter: QPainter, c: theme.CanvasColours) -> None:
        if self.spec is None:
            font = base_font()
            painter.setFont(font)
            painter.setPen(c.warning)
            painter.drawText(QRectF(10, HEADER + PAD, NODE_WIDTH - 20, SUMMARY_LINE),
                             Qt.AlignmentFlag.AlignVCenter, self._summary[0])
            return
        font = base_font()
        font.setBold(False)
        painter.setFont(font)
        metrics = QFontMetricsF(font)
        half = NODE_WIDTH / 2 - 14
        for i, port in enumerate(self.spec.inputs):
            item = self.ports[(port.name, False)]
            y = self._row_y(i)
            label = port.name
            if not item.connected and port.name in self.node.params:
                label = f"{port.name} = {short_value(self.node.params[port.name], 14)}"
            painter.setPen(c.text if item.connected or port.required else c.text_dim)
            text = metrics.elidedText(label, Qt.TextElideMode.ElideRight, half + 10)
            painter.drawText(QRectF(12, y - ROW / 2, half + 10, ROW),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        painter.setPen(c.text)
        for i, port in enumerate(self.spec.outputs):
            y = self._row_y(i)
            text = metrics.elidedText(port.name, Qt.TextElideMode.ElideRight, half - 10)
            painter.drawText(QRectF(NODE_WIDTH / 2 + 2, y - ROW / 2, half, ROW),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, text)
        if self._summary:
            small = QFont(font)
            small.setPointSizeF(max(6.0, font.pointSizeF() - 1))
            painter.setFont(small)
            painter.setPen(c.text_dim)
            top = HEADER + PAD + self.rows() * ROW + 2
            small_metrics = QFontMetricsF(small)
            for j, line in enumerate(self._summary):
                text = small_metrics.elidedText(line, Qt.TextElideMode.ElideRight, NODE_WIDTH - 24)
                painter.drawText(QRectF(12, top + j * SUMMARY_LINE, NODE_WIDTH - 24, SUMMARY_LINE),
                                 Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        if self.rows() and self._summary:
            painter.setPen(QPen(c.grid_major, 1))
            top = HEADER + PAD + self.rows() * ROW
            painter.drawLine(QPointF(10, top), QPointF(NODE_WIDTH - 10, top))

    # -- behaviour ---------------------------------------------------------------------

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:  # noqa: N802
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange and self._snapping():
            grid = theme.GRID
            return QPointF(round(value.x() / grid) * grid, round(value.y() / grid) * grid)
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
        return super().itemChange(change, value)

    def _snapping(self) -> bool:
        scene = self.scene()
        return bool(scene is not None and getattr(scene, "snap_to_grid", False) and
                    getattr(scene, "user_moving", False))

    def hoverMoveEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # noqa: N802
        inside = self.gutter_rect().contains(event.pos())
        if inside != self._hover_gutter:
            self._hover_gutter = inside
            self.setCursor(Qt.CursorShape.PointingHandCursor if inside else Qt.CursorShape.ArrowCursor)
            self.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # noqa: N802
        if self._hover_gutter:
            self._hover_gutter = False
            self.update()

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        scene = self.scene()
        if (event.button() == Qt.MouseButton.LeftButton and self.gutter_rect().contains(event.pos())
                and scene is not None):
            workflow_scene: WorkflowScene = scene  # type: ignore[assignment]
            workflow_scene.toggle_breakpoint(self.node.id)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        scene = self.scene()
        if scene is not None:
            scene.node_double_clicked.emit(self.node.id)  # type: ignore[attr-defined]
        event.accept()


class EdgeItem(QGraphicsPathItem):
    """An edge: a bezier curve from an output port to an input port, coloured by type."""

    def __init__(self, edge: Edge, source: PortItem, target: PortItem) -> None:
        super().__init__()
        self.edge = edge
        self.source = source
        self.target = target
        self._hover = False
        # Never drawn with (paint draws the curve): its width gives the bounding rectangle,
        # which Qt keeps from the stroked shape until the path changes, the room to draw in.
        self.setPen(QPen(Qt.GlobalColor.transparent, 12))
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(0)
        source.node_item.edges.add(self)
        target.node_item.edges.add(self)
        self.setToolTip(str(edge))
        self.update_path()

    def detach(self) -> None:
        self.source.node_item.edges.discard(self)
        self.target.node_item.edges.discard(self)

    def update_path(self) -> None:
        self.setPath(bezier(self.source.anchor(), self.target.anchor()))

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12)
        return stroker.createStroke(self.path())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        c = theme.canvas_colours()
        colour = theme.port_colour(self.source.port_type)
        width = 2.2
        if self.isSelected():
            colour = QColor(c.node_selected)
            width = 3.2
        elif self._hover:
            width = 3.2
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # noqa: N802
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:  # noqa: N802
        self._hover = False
        self.update()


def bezier(start: QPointF, end: QPointF) -> QPainterPath:
    """A horizontal S-curve from ``start`` to ``end`` (also when ``end`` is left of ``start``)."""
    path = QPainterPath(start)
    bend = max(50.0, abs(end.x() - start.x()) * 0.5)
    path.cubicTo(QPointF(start.x() + bend, start.y()), QPointF(end.x() - bend, end.y()), end)
    return path


class NoteItem(QGraphicsItem):
    """A sticky note with free text; double-click edits it."""

    WIDTH = 260.0
    MARGIN = 10.0

    def __init__(self, note: Note) -> None:
        super().__init__()
        self.note = note
        self._height = 40.0
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
        )
        self.setZValue(-2)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.refresh()

    def _font(self) -> QFont:
        font = QFont()
        font.setPointSizeF(max(7.0, font.pointSizeF() - 0.5))
        return font

    def refresh(self) -> None:
        self.prepareGeometryChange()
        metrics = QFontMetricsF(self._font())
        text_rect = metrics.boundingRect(
            QRectF(0, 0, self.WIDTH - 2 * self.MARGIN, 10_000),
            int(Qt.TextFlag.TextWordWrap), self.note.text or " ",
        )
        self._height = max(36.0, text_rect.height() + 2 * self.MARGIN)
        self.setToolTip("Note (double-click to edit)")
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt's name
        return QRectF(-2, -2, self.WIDTH + 4, self._height + 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        c = theme.canvas_colours()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(0, 0, self.WIDTH, self._height)
        border = c.node_selected if self.isSelected() else c.note_body.darker(115)
        painter.setPen(QPen(border, 2.0 if self.isSelected() else 1.0))
        painter.setBrush(QBrush(c.note_body))
        painter.drawRoundedRect(rect, 4, 4)
        painter.setFont(self._font())
        painter.setPen(c.note_text)
        painter.drawText(rect.adjusted(self.MARGIN, self.MARGIN, -self.MARGIN, -self.MARGIN),
                         int(Qt.TextFlag.TextWordWrap), self.note.text)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        scene = self.scene()
        if scene is not None:
            scene.note_double_clicked.emit(self.note)  # type: ignore[attr-defined]
        event.accept()
