"""Settings: where runs are stored (a file or a database URL) and where nodes run (executor)."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

EXECUTORS = ("local", "dask")


class SettingsDialog(QDialog):
    """Database (``--db``) and executor (``--executor``), as the command line offers them."""

    def __init__(self, settings: QSettings, current_db: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.settings = settings
        self.database = QLineEdit(str(settings.value("database") or ""))
        self.database.setObjectName("settingsDatabase")
        self.database.setPlaceholderText(current_db)
        self.database.setToolTip("A file (studio.db) or sqlite:///path. "
                                 "Empty: $STUDIO_DB, else the default file.")
        self.executor = QComboBox()
        self.executor.setObjectName("settingsExecutor")
        self.executor.setEditable(True)
        self.executor.addItems(list(EXECUTORS))
        self.executor.setCurrentText(str(settings.value("executor") or "local"))
        self.executor.setToolTip("local: worker threads here; dask: a local Dask cluster; "
                                 "dask://HOST:PORT: an existing Dask scheduler")
        note = QLabel("Changes apply to the next run.")
        form = QFormLayout()
        form.addRow("Runs database", self.database)
        form.addRow("Run nodes on", self.executor)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(520, self.sizeHint().height())

    def save(self) -> None:
        self.settings.setValue("database", self.database.text().strip())
        self.settings.setValue("executor", self.executor.currentText().strip() or "local")
        self.settings.sync()
        self.accept()
