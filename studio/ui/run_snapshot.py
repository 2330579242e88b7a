"""What the debugger panels show of one run, read from the store in one go (off the GUI thread)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio import api
from studio.engine import run_workflow_copy
from studio.engine.state import stale_nodes
from studio.errors import StudioError
from studio.model.workflow import Workflow
from studio.ui.table_view import PREVIEW_ROWS

log = logging.getLogger("studio.ui")
RESUMABLE = ("paused", "failed")


@dataclass
class Snapshot:
    """A request (which run, which checkpoint) and, after ``load()``, what the store holds for it."""

    generation: int
    db: str | None
    run_id: str | None
    checkpoint: str | None
    path: Path | None
    workflow: Workflow | None = None  # the edited workflow, to find stale nodes (None: skip)
    runs: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None
    shown: dict[str, Any] | None = None
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    paused_before: list[str] = field(default_factory=list)
    stale: list[str] | None = None
    error: str = ""

    def load(self) -> Snapshot:
        """Fill in the run's state, checkpoints, history and stale nodes (safe on any thread)."""
        try:
            self.runs = api.runs(db=self.db)
        except StudioError as exc:
            self.error = str(exc)
        if self.run_id is None:
            return self
        try:
            # Tables come with their first rows only; the grid reads the rest as it is scrolled.
            latest = api.state(self.run_id, db=self.db, rows=PREVIEW_ROWS if self.checkpoint is None else 0)
            self.shown = latest if self.checkpoint is None else api.state(
                self.run_id, db=self.db, checkpoint=self.checkpoint, rows=PREVIEW_ROWS)
            self._table_hashes(self.shown)
            self.checkpoints = api.checkpoints(self.run_id, db=self.db)
            self.history = api.history(self.run_id, db=self.db)
        except StudioError as exc:
            self.error = str(exc)
            self.shown = None
            return self
        self.status = latest["status"]
        self.paused_before = next((list(e["detail"].get("before") or []) for e in reversed(self.history)
                                   if e["event"] == "paused"), [])
        if self.workflow is not None and self.status in RESUMABLE:
            self.stale = self._stale(self.workflow)
        return self

    def _table_hashes(self, state: dict[str, Any]) -> None:
        """Add each table's content hash to ``state["tables"]``: the grid reads its rows by it."""
        tables = state.get("tables") or {}
        if not tables:
            return
        stored = api.get_store(self.db).load(self.run_id or "", state["checkpoint_id"], table_rows=0).tables
        for key, info in tables.items():
            if key in stored:
                info["hash"] = stored[key]["hash"]

    def _stale(self, workflow: Workflow) -> list[str]:
        """Nodes changed (with their descendants) since the run ran them."""
        try:
            store = api.get_store(self.db)
            old = run_workflow_copy(store.get_run(self.run_id or ""))
            index = store.load(self.run_id or "", with_outputs=False).index
            return list(stale_nodes(old, workflow, index))
        except (StudioError, KeyError, ValueError) as exc:
            log.debug("stale check failed: %s", exc)
            return []
