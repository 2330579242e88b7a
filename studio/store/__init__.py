"""The only code that speaks SQL: runs, checkpoints, outputs, history, cleanup."""

from studio.store.db import Store, open_store
from studio.store.records import NewCheckpoint, NewEvent, RunRecord, now_iso, short_id
from studio.store.state import COMPLETED, FAILED, SKIPPED, NodeEntry, Snapshot, StateIndex

__all__ = [
    "COMPLETED", "FAILED", "SKIPPED", "NewCheckpoint", "NewEvent", "NodeEntry", "RunRecord",
    "Snapshot", "StateIndex", "Store", "now_iso", "open_store", "short_id",
]
