"""The canvas view: zoom, pan, rubber-band selection, quick add, drops from the palette."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsView, QWidget

from studio.ui.canvas.items import NodeItem, NoteItem
from studio.ui.canvas.scene import WorkflowScene
from studio.ui.palette import NODE_TYPE_MIME

MIN_ZOOM = 0.15
MAX_ZOOM = 3.0
READABLE_ZOOM = 0.6


class CanvasView(QGraphicsView):
    """The ``canvas`` widget."""

    quick_add_requested = Signal(QPointF, QPoint)  # scene position, global position

    def __init__(self, scene: WorkflowScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.setObjectName("canvas")
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPoint | None = None
        self._space_held = False

    def workflow_scene(self) -> WorkflowScene:
        scene = self.scene()
        assert isinstance(scene, WorkflowScene)
        return scene

    # -- zoom --------------------------------------------------------------------------

    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom() * factor))
        factor = target / self.zoom()
        if abs(factor - 1.0) > 1e-6:
            self.scale(factor, factor)

    def zoom_in(self) -> None:
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.zoom_by(1.25)
        self.setTransformationAnchor(anchor)

    def zoom_out(self) -> None:
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.zoom_by(0.8)
        self.setTransformationAnchor(anchor)

    def reset_zoom(self) -> None:
        self.zoom_by(1.0 / self.zoom())

    def _content_rects(self, selected: bool = False) -> list[QRectF]:
        items = self.scene().selectedItems() if selected else self.scene().items()
        return [i.sceneBoundingRect() for i in items if isinstance(i, (NodeItem, NoteItem))]

    def fit_all(self) -> None:
        self._fit(self._content_rects())

    def fit_readable(self) -> None:
        """Show the whole workflow if it stays readable (zoom ≥ 60%), else its top-left part."""
        rects = self._content_rects()
        if not rects:
            self.reset_zoom()
            self.centerOn(0, 0)
            return
        box = _united(rects, 40)
        self.fitInView(box, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_by(min(1.0, max(READABLE_ZOOM, self.zoom())) / self.zoom())
        shown = self.mapToScene(self.viewport().rect()).boundingRect()
        x = box.center().x() if box.width() <= shown.width() else box.left() + shown.width() / 2
        y = box.center().y() if box.height() <= shown.height() else box.top() + shown.height() / 2
        self.centerOn(x, y)

    def fit_selection(self) -> None:
        rects = self._content_rects(selected=True)
        if not rects:
            self.fit_all()
            return
        self._fit(rects)

    def _fit(self, rects: list[QRectF]) -> None:
        if not rects:
            self.centerOn(0, 0)
            return
        box = _united(rects, 60)
        self.fitInView(box, Qt.AspectRatioMode.KeepAspectRatio)
        # Never blow small workflows up beyond 100%, nor shrink below the minimum.
        if self.zoom() > 1.0:
            self.zoom_by(1.0 / self.zoom())
        elif self.zoom() < MIN_ZOOM:
            self.zoom_by(MIN_ZOOM / self.zoom())
        self.centerOn(box.center())

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        delta = event.angleDelta().y()
        if delta:
            self.zoom_by(1.0015 ** delta)
        event.accept()

    # -- pan ---------------------------------------------------------------------------

    def _start_pan(self, pos: QPoint) -> None:
        self._pan_from = pos
        self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space_held
        ):
            self._start_pan(event.position().toPoint())
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_from is not None:
            pos = event.position().toPoint()
            delta = pos - self._pan_from
            self._pan_from = pos
            self.translate_view(delta.x(), delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def translate_view(self, dx: float, dy: float) -> None:
        """Scroll the view by screen pixels (the scene follows the hand)."""
        zoom = self.zoom()
        centre = self.mapToScene(self.viewport().rect().center())
        self.centerOn(centre - QPointF(dx / zoom, dy / zoom))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_from is not None and event.button() in (
            Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton
        ):
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position().toPoint()
        if event.button() == Qt.MouseButton.LeftButton and self.itemAt(pos) is None:
            self.quick_add_requested.emit(self.mapToScene(pos), self.viewport().mapToGlobal(pos))
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    # -- keys --------------------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        # Tab would move the keyboard focus; on the canvas it opens quick add instead.
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent) \
                and event.key() == Qt.Key.Key_Tab and not event.modifiers():
            self.request_quick_add()
            return True
        return super().event(event)

    def request_quick_add(self) -> None:
        """Open quick add at the mouse cursor (or the view's centre when it is outside)."""
        pos = self.viewport().mapFromGlobal(self.cursor().pos())
        if not self.viewport().rect().contains(pos):
            pos = self.viewport().rect().center()
        self.quick_add_requested.emit(self.mapToScene(pos), self.viewport().mapToGlobal(pos))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.setDragMode(QGraphicsView.DragMode.NoDrag)
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
            self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    # -- drops from the palette -------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasFormat(NODE_TYPE_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if event.mimeData().hasFormat(NODE_TYPE_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        if event.mimeData().hasFormat(NODE_TYPE_MIME):
            type_id = bytes(event.mimeData().data(NODE_TYPE_MIME).data()).decode()
            pos = self.mapToScene(event.position().toPoint())
            self.workflow_scene().add_node(type_id, pos - QPointF(20, 16))
            event.acceptProposedAction()
            self.setFocus()
        else:
            super().dropEvent(event)


def _united(rects: list[QRectF], margin: float) -> QRectF:
    """The rectangle around all of ``rects``, with a margin."""
    box = rects[0]
    for rect in rects[1:]:
        box = box.united(rect)
    return box.adjusted(-margin, -margin, margin, margin)
