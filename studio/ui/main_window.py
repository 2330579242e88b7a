"""The main window: canvas in the middle, palette left, inspector right, menus and toolbar."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import platformdirs
import shiboken6
from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QKeySequence,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from studio.errors import StudioError
from studio.model.workflow import Note, Workflow
from studio.resources_path import example
from studio.ui import theme
from studio.ui.canvas.scene import WorkflowScene
from studio.ui.canvas.view import CanvasView
from studio.ui.debugger import Debugger
from studio.ui.document import Document
from studio.ui.inspector import Inspector
from studio.ui.palette import Palette, QuickAdd
from studio.ui.settings_dialog import SettingsDialog

APP_TITLE = "Workflow Studio"
FILE_FILTER = "Workflows (*.flow.json);;JSON files (*.json);;All files (*)"
MAX_RECENT = 8
FIRST_EXAMPLE = "csv-report.flow.json"


def settings() -> QSettings:
    """The designer's settings file (under the user config folder, ``XDG_CONFIG_HOME`` honoured)."""
    folder = Path(platformdirs.user_config_dir("studio", appauthor=False))
    return QSettings(str(folder / "designer.ini"), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    """The designer window; ``open_workflow(path)`` loads a file."""

    def __init__(self, db: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.settings = settings()
        self._explicit_db = db
        self.db = self._choose_db()
        self.document = Document(Workflow(name="Untitled"), self)
        self.scene = WorkflowScene(self.document)
        self.canvas = CanvasView(self.scene, self)
        self.palette_panel = Palette(self.document.specs)
        self.inspector = Inspector()
        self.quick_add = QuickAdd(self.document.specs, self)
        self._quick_add_at = QPointF()
        self._laid_out = False
        self._status = QLabel()
        self._problems_label = QLabel()
        self._problems_label.setObjectName("problemsLabel")
        self._zoom_label = QLabel()

        self._build_docks()
        self._build_actions()
        self._build_menus_and_toolbar()
        self.debugger = Debugger(self)
        central = QWidget()
        box = QVBoxLayout(central)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        box.addWidget(self.debugger.interrupted_bar)
        box.addWidget(self.canvas, 1)
        self.setCentralWidget(central)
        self.statusBar().addPermanentWidget(self._problems_label)
        self.statusBar().addPermanentWidget(self._zoom_label)

        self.palette_panel.node_chosen.connect(self._add_from_palette)
        self.quick_add.node_chosen.connect(self._add_from_quick_add)
        self.canvas.quick_add_requested.connect(self.open_quick_add)
        self.scene.status_message.connect(self.show_message)
        self.scene.selectionChanged.connect(self._selection_changed)
        self.scene.note_double_clicked.connect(self._edit_note)
        self.scene.node_double_clicked.connect(self._focus_inspector)
        self.scene.context_menu_requested.connect(self._context_menu)
        self._zoom_timer = QTimer(self)
        self._zoom_timer.setInterval(250)
        self._zoom_timer.timeout.connect(self._show_zoom)
        self._zoom_timer.start()

        self.set_document(self.document)
        self.resize(1400, 900)
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.value("windowState")
        if state is not None:
            self.restoreState(state)

    # -- construction ------------------------------------------------------------------

    def _build_docks(self) -> None:
        self.palette_dock = QDockWidget("Nodes", self)
        self.palette_dock.setObjectName("paletteDock")
        self.palette_dock.setWidget(self.palette_panel)
        self.palette_dock.setMinimumWidth(200)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.palette_dock)
        self.inspector_dock = QDockWidget("Inspector", self)
        self.inspector_dock.setObjectName("inspectorDock")
        self.inspector_dock.setWidget(self.inspector)
        self.inspector_dock.setMinimumWidth(240)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.inspector_dock)
        self.resizeDocks([self.palette_dock, self.inspector_dock], [220, 300], Qt.Orientation.Horizontal)

    def _action(self, name: str, text: str, slot: object, shortcut: str | QKeySequence | None = None,
                icon: str | None = None, tip: str | None = None) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon:
            action.setIcon(theme.icon(icon))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(slot)  # type: ignore[arg-type]
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.action_new = a("actionNew", "&New", self.new_workflow, QKeySequence.StandardKey.New, "new")
        self.action_open = a("actionOpen", "&Open…", self.open_dialog, "Ctrl+O", "open")
        self.action_save = a("actionSave", "&Save", self.save, "Ctrl+S", "save")
        self.action_save_as = a("actionSaveAs", "Save &As…", self.save_as, "Ctrl+Shift+S")
        self.action_settings = a("actionSettings", "Se&ttings…", self.open_settings, None, None,
                                 "Where runs are stored and where nodes run")
        self.action_quit = a("actionQuit", "&Quit", self.close, "Ctrl+Q")
        self.action_undo = a("actionUndo", "&Undo", lambda: self.document.undo_stack.undo(),
                             "Ctrl+Z", "undo")
        self.action_redo = a("actionRedo", "&Redo", lambda: self.document.undo_stack.redo(),
                             "Ctrl+Shift+Z", "redo")
        self.action_cut = a("actionCut", "Cu&t", self.cut, "Ctrl+X")
        self.action_copy = a("actionCopy", "&Copy", self.copy, "Ctrl+C")
        self.action_paste = a("actionPaste", "&Paste", self.paste, "Ctrl+V")
        self.action_duplicate = a("actionDuplicate", "D&uplicate", self.duplicate, "Ctrl+D")
        self.action_delete = a("actionDelete", "&Delete", self.scene.delete_selection, "Del", "delete",
                               "Delete the selected nodes, connections and notes")
        self.action_select_all = a("actionSelectAll", "Select &All", self.select_all, "Ctrl+A")
        self.action_add_note = a("actionAddNote", "Add &Note", self.add_note_at_centre, None, "note",
                                 "Add a sticky note to the canvas")
        self.action_quick_add = a("actionQuickAdd", "Add Node…", self.canvas.request_quick_add, None,
                                  None, "Search for a node to add (Tab on the canvas)")
        self.action_auto_layout = a("actionAutoLayout", "Auto-&Layout", self.scene.auto_layout,
                                    "Ctrl+L", "layout", "Arrange the nodes left to right")
        self.action_toggle_breakpoint = a(
            "actionToggleBreakpoint", "Toggle &Breakpoint", self.toggle_breakpoint, "F9", "breakpoint",
            "Pause runs before the selected node",
        )
        self.action_zoom_in = a("actionZoomIn", "Zoom &In", self.canvas.zoom_in, "Ctrl++")
        self.action_zoom_in.setShortcuts([QKeySequence("Ctrl++"), QKeySequence("Ctrl+=")])
        self.action_zoom_out = a("actionZoomOut", "Zoom &Out", self.canvas.zoom_out, "Ctrl+-")
        self.action_zoom_reset = a("actionZoomReset", "&Actual Size", self.canvas.reset_zoom, "Ctrl+1")
        self.action_fit_all = a("actionFitAll", "&Fit All", self.canvas.fit_all, "Ctrl+0", "fit",
                                "Show the whole workflow")
        self.action_fit_selection = a("actionFitSelection", "Fit &Selection", self.canvas.fit_selection,
                                      "Ctrl+Shift+0")
        self.action_undo.setEnabled(False)
        self.action_redo.setEnabled(False)

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.action_new, self.action_open])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        file_menu.addActions([self.action_save, self.action_save_as])
        file_menu.addSeparator()
        file_menu.addActions([self.action_settings, self.action_quit])
        edit = bar.addMenu("&Edit")
        edit.addActions([self.action_undo, self.action_redo])
        edit.addSeparator()
        edit.addActions([self.action_cut, self.action_copy, self.action_paste, self.action_duplicate,
                         self.action_delete, self.action_select_all])
        edit.addSeparator()
        edit.addActions([self.action_quick_add, self.action_add_note, self.action_auto_layout,
                         self.action_toggle_breakpoint])
        self.view_menu = bar.addMenu("&View")
        self.view_menu.addActions([self.action_zoom_in, self.action_zoom_out, self.action_zoom_reset,
                                   self.action_fit_all, self.action_fit_selection])
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.palette_dock.toggleViewAction())
        self.view_menu.addAction(self.inspector_dock.toggleViewAction())

        self.toolbar = QToolBar("Main", self)
        self.toolbar.setObjectName("mainToolbar")
        self.toolbar.setMovable(False)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toolbar.addActions([self.action_new, self.action_open, self.action_save])
        self.toolbar.addSeparator()
        self.toolbar.addActions([self.action_undo, self.action_redo])
        self.toolbar.addSeparator()
        self.toolbar.addActions([self.action_auto_layout, self.action_fit_all, self.action_add_note])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)

    # -- documents ---------------------------------------------------------------------

    def _choose_db(self) -> str | None:
        """The ``db`` argument, else ``$STUDIO_DB``, else the settings, else the default (None)."""
        if self._explicit_db is not None:
            return self._explicit_db
        chosen = os.environ.get("STUDIO_DB") or str(self.settings.value("database") or "")
        return chosen or None

    def executor(self) -> str:
        return str(self.settings.value("executor") or "local")

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.settings, str(self.db or "default database"), self)

        def applied() -> None:
            self.db = self._choose_db()
            self.debugger.refresh()

        dialog.accepted.connect(applied)
        dialog.show()
        return dialog

    def set_document(self, document: Document) -> None:
        """Show ``document`` (the old one is dropped)."""
        old = self.document
        if old is not document:
            old.undo_stack.cleanChanged.disconnect(self._update_title)
            old.undo_stack.canUndoChanged.disconnect(self.action_undo.setEnabled)
            old.undo_stack.canRedoChanged.disconnect(self.action_redo.setEnabled)
            old.problems_changed.disconnect(self._show_problem_count)
            old.close()
            old.deleteLater()
        self.document = document
        document.setParent(self)
        self.scene.set_document(document)
        self.inspector.set_document(document)
        document.undo_stack.cleanChanged.connect(self._update_title)
        document.undo_stack.canUndoChanged.connect(self.action_undo.setEnabled)
        document.undo_stack.canRedoChanged.connect(self.action_redo.setEnabled)
        document.problems_changed.connect(self._show_problem_count)
        self.action_undo.setEnabled(document.undo_stack.canUndo())
        self.action_redo.setEnabled(document.undo_stack.canRedo())
        self._update_title()
        self._show_problem_count()
        if hasattr(self, "debugger"):
            self.debugger.document_changed()
        QTimer.singleShot(0, self.canvas.fit_readable)

    def open_workflow(self, path: str | Path) -> None:
        """Load a workflow file into the window (raises ``StudioError`` when it cannot be read)."""
        document = Document.load(path)
        self.set_document(document)
        self.canvas.fit_readable()
        self._remember(Path(path).resolve())
        self.show_message(f"Opened {Path(path).name}")

    def open_at_start(self, path: str | None = None) -> None:
        """Open ``path``, else the last file, else (first start) a copy of an example."""
        candidates: list[Path] = []
        if path:
            candidates.append(Path(path))
        else:
            last = self.settings.value("lastFile")
            if isinstance(last, str) and last and Path(last).is_file():
                candidates.append(Path(last))
            elif not last:
                candidates.append(self._first_start_example())
        for candidate in candidates:
            try:
                self.open_workflow(candidate)
            except (StudioError, OSError) as exc:
                self.show_message(f"Could not open {candidate}: {exc}")

    def _first_start_example(self) -> Path:
        """Copy the bundled examples to the user's data folder (so saving works) and pick one."""
        target = Path(platformdirs.user_data_dir("studio", appauthor=False)) / "examples"
        source = example(FIRST_EXAMPLE).parent
        try:
            target.mkdir(parents=True, exist_ok=True)
            for item in source.iterdir():
                if item.is_file() and not (target / item.name).exists():
                    shutil.copy2(item, target / item.name)
            return target / FIRST_EXAMPLE
        except OSError:
            return example(FIRST_EXAMPLE)

    def _remember(self, path: Path) -> None:
        recent = [str(path)] + [p for p in self._recent_files() if p != str(path)]
        self.settings.setValue("recentFiles", recent[:MAX_RECENT])
        self.settings.setValue("lastFile", str(path))
        self.settings.sync()

    def _recent_files(self) -> list[str]:
        value = self.settings.value("recentFiles") or []
        return [value] if isinstance(value, str) else [str(v) for v in value]

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = [p for p in self._recent_files() if Path(p).is_file()]
        if not files:
            empty = self.recent_menu.addAction("No recent files")
            empty.setEnabled(False)
        for name in files:
            action = self.recent_menu.addAction(Path(name).name)
            action.setToolTip(name)
            action.triggered.connect(lambda _=False, p=name: self._open_checked(p))

    def maybe_save(self) -> bool:
        """Ask what to do with unsaved changes; ``False`` means the user cancelled."""
        if not self.document.modified:
            return True
        name = self.document.path.name if self.document.path else "Untitled"
        answer = QMessageBox.question(
            self, APP_TITLE, f"Save the changes to “{name}” before closing it?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_workflow(self) -> None:
        if self.maybe_save():
            self.set_document(Document(Workflow(name="Untitled")))

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        folder = str(self.document.workflow.folder)
        path, _ = QFileDialog.getOpenFileName(self, "Open workflow", folder, FILE_FILTER)
        if path:
            self._open_checked(path, ask=False)

    def _open_checked(self, path: str, ask: bool = True) -> None:
        if ask and not self.maybe_save():
            return
        try:
            self.open_workflow(path)
        except (StudioError, OSError) as exc:
            QMessageBox.warning(self, APP_TITLE, f"Could not open the workflow:\n{exc}")

    def save(self) -> bool:
        """Save to the workflow's file (no dialog), or ask for a name when it has none."""
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        folder = self.document.workflow.folder
        suggested = str(self.document.path or folder / "workflow.flow.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save workflow as", suggested, FILE_FILTER)
        if not path:
            return False
        target = Path(path)
        if not target.name.endswith(".json"):
            target = target.with_name(target.name + ".flow.json")
        return self._save_to(target)

    def _save_to(self, path: Path) -> bool:
        try:
            self.document.save(path)
        except (StudioError, OSError) as exc:
            QMessageBox.warning(self, APP_TITLE, f"Could not save the workflow:\n{exc}")
            return False
        self._remember(path.resolve())
        self._update_title()
        problems = len(self.document.problems)
        extra = f" ({problems} problem{'s' if problems != 1 else ''} to fix before it can run)" if problems else ""
        self.show_message(f"Saved {path.name}{extra}")
        return True

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self.maybe_save():
            event.ignore()
            return
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState())
        self.settings.sync()
        self.quick_add.hide()
        self.debugger.shutdown()
        event.accept()

    # -- edits -------------------------------------------------------------------------

    def _centre(self) -> QPointF:
        return self.canvas.mapToScene(self.canvas.viewport().rect().center())

    def _add_from_palette(self, type_id: str) -> None:
        # Cascade new nodes a little so that several double-clicks do not stack exactly.
        offset = (len(self.document.workflow.nodes) % 6) * 20.0
        self.scene.add_node(type_id, self._centre() + QPointF(-100 + offset, -40 + offset))
        self.canvas.setFocus()

    def open_quick_add(self, scene_pos: QPointF, global_pos: QPoint) -> None:
        self._quick_add_at = scene_pos
        self.quick_add.popup(global_pos)

    def _add_from_quick_add(self, type_id: str) -> None:
        self.scene.add_node(type_id, self._quick_add_at)
        self.canvas.setFocus()

    def copy(self) -> None:
        text = self.scene.copy_selection()
        if text is not None:
            QGuiApplication.clipboard().setText(text)
            self.show_message("Copied the selection.")

    def cut(self) -> None:
        text = self.scene.copy_selection()
        if text is not None:
            QGuiApplication.clipboard().setText(text)
            self.scene.delete_selection()

    def paste(self) -> None:
        self.scene.paste(QGuiApplication.clipboard().text())

    def duplicate(self) -> None:
        text = self.scene.copy_selection()
        if text is not None:
            self.scene.paste(text)

    def select_all(self) -> None:
        for item in self.scene.items():
            if item.flags() & item.GraphicsItemFlag.ItemIsSelectable:
                item.setSelected(True)

    def add_note_at_centre(self) -> None:
        self.scene.add_note(self._centre() - QPointF(130, 30))

    def toggle_breakpoint(self) -> None:
        node_ids = self.scene.selected_node_ids()
        if not node_ids:
            self.show_message("Select a node to set a breakpoint on it.")
            return
        self.scene.toggle_breakpoints(node_ids)

    def _edit_note(self, note: Note) -> None:
        text, ok = QInputDialog.getMultiLineText(self, "Edit note", "Note text:", note.text)
        if ok:
            self.scene.edit_note(note, text)

    def _focus_inspector(self, node_id: str) -> None:
        self.inspector_dock.show()
        self.inspector_dock.raise_()
        label = self.inspector.findChild(QWidget, "label")
        if label is not None:
            label.setFocus()

    def _context_menu(self, scene_pos: QPointF, screen_pos: QPoint, node_id: str | None) -> None:
        menu = self.build_context_menu(scene_pos, node_id)
        menu.exec(screen_pos)

    def build_context_menu(self, scene_pos: QPointF, node_id: str | None) -> QMenu:
        """The canvas context menu for a node (or empty canvas) at ``scene_pos``."""
        menu = QMenu(self)
        if node_id is not None:
            menu.addAction(self.debugger.action_run_to_here)
            menu.addAction(self.action_toggle_breakpoint)
            menu.addSeparator()
            menu.addActions([self.action_copy, self.action_duplicate, self.action_delete])
        else:
            add = menu.addAction("Add Node…")
            add.triggered.connect(
                lambda: self.open_quick_add(scene_pos, self.canvas.viewport().mapToGlobal(
                    self.canvas.mapFromScene(scene_pos)))
            )
            note = menu.addAction(theme.icon("note"), "Add Note Here")
            note.triggered.connect(lambda: self.scene.add_note(scene_pos))
            menu.addAction(self.action_paste)
            menu.addSeparator()
            menu.addActions([self.action_auto_layout, self.action_fit_all])
        return menu

    # -- window events -----------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._laid_out and self.settings.value("windowState") is None:
            # Give the canvas most of the height, also on a small laptop screen.
            self.resizeDocks([self.debugger.state_dock], [max(150, int(self.height() * 0.28))],
                             Qt.Orientation.Vertical)
            if self.width() < 1280:  # a small laptop screen: the canvas first
                self.resizeDocks([self.palette_dock, self.inspector_dock], [170, 240],
                                 Qt.Orientation.Horizontal)
        self._laid_out = True

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        style = (Qt.ToolButtonStyle.ToolButtonTextBesideIcon if self.width() >= 1280
                 else Qt.ToolButtonStyle.ToolButtonIconOnly)
        for bar in self.findChildren(QToolBar):
            bar.setToolButtonStyle(style)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            # Light/dark switch: cached node pictures must be painted again.
            for item in self.scene.items():
                item.update()
            self.scene.invalidate()

    # -- feedback ----------------------------------------------------------------------

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _selection_changed(self) -> None:
        # The scene also reports a change while it is being destroyed with the window.
        if not shiboken6.isValid(self.scene) or not shiboken6.isValid(self.inspector):
            return
        node_ids = self.scene.selected_node_ids()
        self.inspector.show_node(node_ids[0] if len(node_ids) == 1 else None)

    def _update_title(self) -> None:
        doc = self.document
        name = doc.path.name if doc.path is not None else "Untitled"
        star = "*" if doc.modified else ""
        self.setWindowTitle(f"{star}{name} — {APP_TITLE}")

    def _show_problem_count(self) -> None:
        problems = self.document.problems
        if problems:
            self._problems_label.setText(f"⚠ {len(problems)} problem{'s' if len(problems) != 1 else ''}")
            self._problems_label.setToolTip("\n".join(problems))
            self._problems_label.setStyleSheet("color: #b45309; padding: 0 8px;")
        else:
            self._problems_label.setText("✓ valid")
            self._problems_label.setToolTip("The workflow has no problems.")
            self._problems_label.setStyleSheet("color: #15803d; padding: 0 8px;")

    def _show_zoom(self) -> None:
        self._zoom_label.setText(f"{round(self.canvas.zoom() * 100)}%")
