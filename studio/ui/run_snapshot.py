"""What the debugger panels show of one run, read from the store in one go (off the GUI thread)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio import api
from studio.engine import run_workflow_copy
from studio.engine.state import stale_nodes
from studio.errors import StudioError
from studio.model.workflow import Workflow
from studio.ui.compare import same
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
    #: Read the checkpoint list and the history too (a live run brings them in its events).
    with_checkpoints: bool = True
    with_history: bool = True
    #: The state shown so far: ``load`` finds which nodes' outputs are the same (so the GUI thread
    #: does not compare them) and puts them in ``unchanged``.
    previous: dict[str, Any] | None = None
    unchanged: frozenset[str] = frozenset()
    runs: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None
    shown: dict[str, Any] | None = None
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    paused_before: list[str] = field(default_factory=list)
    stale: list[str] | None = None
    error: str = ""
    seconds: float = 0.0  # how long ``load`` took

    def load(self) -> Snapshot:
        """Fill in the run's state, checkpoints, history and stale nodes (safe on any thread)."""
        started = time.perf_counter()
        try:
            return self._load()
        finally:
            self.seconds = time.perf_counter() - started

    def _load(self) -> Snapshot:
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
            if self.with_checkpoints:
                self.checkpoints = api.checkpoints(self.run_id, db=self.db)
            if self.with_history:
                self.history = api.history(self.run_id, db=self.db)
        except StudioError as exc:
            self.error = str(exc)
            self.shown = None
            return self
        self.status = latest["status"]
        if self.previous is not None and self.shown is not None:
            self.unchanged = unchanged_nodes(self.previous, self.shown)
        if self.with_history:
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


def unchanged_nodes(before: dict[str, Any], after: dict[str, Any]) -> frozenset[str]:
    """Nodes whose outputs (and tables) are the same in both captured states."""
    old, new = before.get("outputs") or {}, after.get("outputs") or {}
    old_tables, new_tables = before.get("tables") or {}, after.get("tables") or {}
    changed_tables = {key.split(".", 1)[0] for key in old_tables.keys() | new_tables.keys()
                      if old_tables.get(key) != new_tables.get(key)}
    return frozenset(node for node, ports in new.items()
                     if node in old and node not in changed_tables and same(old[node], ports))
