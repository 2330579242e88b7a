"""The node palette (node types by category, searchable, drag or double-click to add) and quick add."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import (
    QAbstractItemModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QKeyEvent, QPainter, QPalette, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QLabel,
    QLineEdit,
    QListView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from studio.model.spec import NodeSpec
from studio.ui import theme

NODE_TYPE_MIME = "application/x-studio-node-type"
CATEGORY_ROLE = Qt.ItemDataRole.UserRole + 1
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2
CATEGORY_ORDER = ("Values", "Logic", "Flow", "Files", "Tables")

ModelIndex = QModelIndex | QPersistentModelIndex


class NodeTypeModel(QStandardItemModel):
    """One row per node type: label and icon shown, id in ``Qt.UserRole``, description as tooltip."""

    def __init__(self, specs: Mapping[str, NodeSpec]) -> None:
        super().__init__()

        def order(spec: NodeSpec) -> tuple[int, str, str]:
            cat = CATEGORY_ORDER.index(spec.category) if spec.category in CATEGORY_ORDER else 99
            return cat, spec.category, spec.label.lower()

        for spec in sorted(specs.values(), key=order):
            item = QStandardItem(theme.category_icon(spec.category), spec.label)
            item.setData(spec.type, Qt.ItemDataRole.UserRole)
            item.setData(spec.category, CATEGORY_ROLE)
            item.setData(f"{spec.label} {spec.type} {spec.category} {spec.description}".lower(),
                         SEARCH_ROLE)
            item.setToolTip(f"<b>{spec.label}</b> <i>({spec.type})</i><br>{spec.description}")
            item.setEditable(False)
            item.setDragEnabled(True)
            self.appendRow(item)

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt's name
        return [NODE_TYPE_MIME, "text/plain"]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # noqa: N802 - Qt's name
        data = QMimeData()
        if indexes:
            type_id = str(indexes[0].data(Qt.ItemDataRole.UserRole))
            data.setData(NODE_TYPE_MIME, type_id.encode())
            data.setText(type_id)
        return data


class NodeFilter(QSortFilterProxyModel):
    """Keeps rows whose label, id, category or description contain every typed word."""

    def __init__(self, source: QAbstractItemModel) -> None:
        super().__init__()
        self.setSourceModel(source)
        self._words: list[str] = []

    def set_text(self, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.9 and later
            self.beginFilterChange()
            self._words = text.lower().split()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._words = text.lower().split()
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:  # noqa: N802
        if not self._words:
            return True
        index = self.sourceModel().index(source_row, 0, source_parent)
        haystack = str(index.data(SEARCH_ROLE) or "")
        return all(word in haystack for word in self._words)


class CategoryDelegate(QStyledItemDelegate):
    """Draws a category heading above the first node type of each category."""

    HEADING = 24

    def _starts_category(self, index: QModelIndex) -> bool:
        if index.row() == 0:
            return True
        above = index.siblingAtRow(index.row() - 1)
        return above.data(CATEGORY_ROLE) != index.data(CATEGORY_ROLE)

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:  # noqa: N802
        size = super().sizeHint(option, index)
        size.setHeight(max(size.height(), 26))
        if isinstance(index, QModelIndex) and self._starts_category(index):
            size.setHeight(size.height() + self.HEADING)
        return size

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        if not isinstance(index, QModelIndex) or not self._starts_category(index):
            super().paint(painter, option, index)
            return
        rect: QRect = option.rect  # type: ignore[attr-defined]
        heading = QRect(rect.left() + 6, rect.top(), rect.width() - 12, self.HEADING)
        painter.save()
        font = QFont(option.font)  # type: ignore[attr-defined]
        font.setBold(True)
        font.setPointSizeF(max(6.0, font.pointSizeF() - 1))
        painter.setFont(font)
        painter.setPen(option.palette.color(option.palette.ColorRole.PlaceholderText))  # type: ignore[attr-defined]
        painter.drawText(heading.adjusted(0, 6, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         str(index.data(CATEGORY_ROLE)).upper())
        painter.restore()
        item_option = QStyleOptionViewItem(option)
        item_option.rect = rect.adjusted(0, self.HEADING, 0, 0)  # type: ignore[attr-defined]
        super().paint(painter, item_option, index)


def _node_list(model: QAbstractItemModel) -> QListView:
    view = QListView()
    view.setModel(model)
    view.setItemDelegate(CategoryDelegate(view))
    view.setIconSize(QSize(18, 18))
    view.setUniformItemSizes(False)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    # Keep the current row visibly highlighted while the search field has the focus.
    palette = view.palette()
    for role in (QPalette.ColorRole.Highlight, QPalette.ColorRole.HighlightedText):
        palette.setColor(QPalette.ColorGroup.Inactive, role,
                         palette.color(QPalette.ColorGroup.Active, role))
    view.setPalette(palette)
    return view


class Palette(QWidget):
    """The ``palette`` panel: a search field over a list of node types by category."""

    node_chosen = Signal(str)

    def __init__(self, specs: Mapping[str, NodeSpec], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("palette")
        self.source_model = NodeTypeModel(specs)
        self.proxy = NodeFilter(self.source_model)
        self.search = QLineEdit()
        self.search.setObjectName("paletteSearch")
        self.search.setPlaceholderText("Search nodes…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_text)
        self.search.returnPressed.connect(self._choose_first)
        self.view = _node_list(self.proxy)
        self.view.setObjectName("paletteList")
        self.view.setDragEnabled(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.view.doubleClicked.connect(self._choose)
        hint = QLabel("Drag a node onto the canvas, or double-click it.")
        hint.setWordWrap(True)
        hint.setObjectName("paletteHint")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.view, 1)
        layout.addWidget(hint)

    def _choose(self, index: QModelIndex) -> None:
        type_id = index.data(Qt.ItemDataRole.UserRole)
        if type_id:
            self.node_chosen.emit(str(type_id))

    def _choose_first(self) -> None:
        if self.proxy.rowCount():
            self._choose(self.proxy.index(0, 0))


class QuickAdd(QFrame):
    """A search popup at the cursor: type to filter, Enter or click adds the node."""

    node_chosen = Signal(str)

    def __init__(self, specs: Mapping[str, NodeSpec], parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("quickAdd")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.proxy = NodeFilter(NodeTypeModel(specs))
        self.search = QLineEdit()
        self.search.setObjectName("quickAddSearch")
        self.search.setPlaceholderText("Add a node: type to search")
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._choose_current)
        self.search.installEventFilter(self)
        self.view = _node_list(self.proxy)
        self.view.setObjectName("quickAddList")
        self.view.clicked.connect(self._choose)
        self.view.activated.connect(self._choose)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.search)
        layout.addWidget(self.view)
        self.resize(280, 300)

    def popup(self, global_pos: QPoint) -> None:
        self.search.clear()
        self._filter("")
        self.move(global_pos)
        self.show()
        self.search.setFocus()

    def _filter(self, text: str) -> None:
        self.proxy.set_text(text)
        if self.proxy.rowCount():
            self.view.setCurrentIndex(self.proxy.index(0, 0))

    def eventFilter(self, watched: object, event: object) -> bool:  # noqa: N802 - Qt's name
        if watched is self.search and isinstance(event, QKeyEvent) and event.type() == QKeyEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.view.currentIndex().row() + (1 if key == Qt.Key.Key_Down else -1)
                if 0 <= row < self.proxy.rowCount():
                    self.view.setCurrentIndex(self.proxy.index(row, 0))
                return True
        return False

    def _choose_current(self) -> None:
        index = self.view.currentIndex()
        if index.isValid():
            self._choose(index)

    def _choose(self, index: QModelIndex) -> None:
        type_id = index.data(Qt.ItemDataRole.UserRole)
        self.hide()
        if type_id:
            self.node_chosen.emit(str(type_id))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape:
            self.hide()
            return
        super().keyPressEvent(event)

