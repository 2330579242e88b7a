"""The cleanup dialog: choose what to delete, see what it frees, then delete and reclaim space."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio import api
from studio.errors import StudioError
from studio.ui.debug_panels import human_bytes


class CleanupDialog(QDialog):
    """Keep the newest N checkpoints per run / only those older than D days / only completed runs."""

    cleaned = Signal(dict)

    def __init__(self, db: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cleanupDialog")
        self.setWindowTitle("Clean up checkpoints")
        self.db = db
        self.keep_enabled = QCheckBox("Keep only the newest")
        self.keep_enabled.setObjectName("cleanupKeepEnabled")
        self.keep_enabled.setChecked(True)
        self.keep = QSpinBox()
        self.keep.setObjectName("cleanupKeep")
        self.keep.setRange(0, 100_000)
        self.keep.setValue(5)
        self.keep.setSuffix(" checkpoints of each run")
        self.older_enabled = QCheckBox("Only those older than")
        self.older_enabled.setObjectName("cleanupOlderEnabled")
        self.older = QDoubleSpinBox()
        self.older.setObjectName("cleanupOlder")
        self.older.setRange(0, 100_000)
        self.older.setValue(30)
        self.older.setSuffix(" days")
        self.completed = QCheckBox("Only runs that completed")
        self.completed.setObjectName("cleanupCompleted")
        self.preview = QLabel()
        self.preview.setObjectName("cleanupPreview")
        self.preview.setWordWrap(True)
        note = QLabel("The checkpoint a paused or failed run would resume from is never deleted.")
        note.setWordWrap(True)
        form = QFormLayout()
        form.addRow(self.keep_enabled, self.keep)
        form.addRow(self.older_enabled, self.older)
        form.addRow(self.completed)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.delete_button = self.buttons.addButton("Delete", QDialogButtonBox.ButtonRole.DestructiveRole)
        self.delete_button.setObjectName("cleanupDelete")
        self.delete_button.clicked.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.preview)
        layout.addWidget(self.buttons)
        for signal in (self.keep_enabled.toggled, self.older_enabled.toggled, self.completed.toggled):
            signal.connect(self.update_preview)
        self.keep.valueChanged.connect(self.update_preview)
        self.older.valueChanged.connect(self.update_preview)
        self.planned: dict[str, Any] = {}
        self.update_preview()

    def options(self) -> dict[str, Any]:
        return {
            "keep": self.keep.value() if self.keep_enabled.isChecked() else None,
            "older_than_days": self.older.value() if self.older_enabled.isChecked() else None,
            "completed": self.completed.isChecked(),
        }

    def update_preview(self) -> None:
        options = self.options()
        if options["keep"] is None and options["older_than_days"] is None:
            self.preview.setText("Choose “keep only the newest” or “older than”.")
            self.delete_button.setEnabled(False)
            return
        try:
            self.planned = api.cleanup(db=self.db, dry_run=True, **options)
        except StudioError as exc:
            self.preview.setText(str(exc))
            self.delete_button.setEnabled(False)
            return
        count = self.planned["deleted"]
        runs = len(self.planned.get("runs", []))
        self.preview.setText(
            f"Will delete {count} checkpoint{'s' if count != 1 else ''} of {runs} run{'s' if runs != 1 else ''}, "
            f"freeing about {human_bytes(int(self.planned.get('bytes', 0)))}."
        )
        self.delete_button.setEnabled(count > 0)

    def apply(self) -> dict[str, Any]:
        try:
            result = api.cleanup(db=self.db, **self.options())
        except StudioError as exc:
            self.preview.setText(str(exc))
            return {}
        self.preview.setText(f"Deleted {result['deleted']} checkpoints.")
        self.cleaned.emit(result)
        self.accept()
        return result
