"""The names a run's life is told in: run statuses, node statuses and history events.

Plain constants with no imports, shared by the store, the engine, the CLI and the GUI
(CONTRACT section 3 spells every one of them).
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """Where a run stands (``studio runs``, captured state ``status``)."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    FAILED = "failed"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"


#: Statuses ``resume`` takes a run over from (a running run whose owner died is
#: marked interrupted first).
RESUMABLE = frozenset({RunStatus.PAUSED, RunStatus.FAILED, RunStatus.INTERRUPTED, RunStatus.CANCELLED})
#: Statuses a run can go on from at all: all but completed.
CONTINUABLE = frozenset(RunStatus) - {RunStatus.COMPLETED}


class NodeStatus(StrEnum):
    """What happened to a node, as checkpoints record it."""

    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


class Event(StrEnum):
    """History event names (the ``event`` field)."""

    RUN_STARTED = "run_started"
    NODE_STARTED = "node_started"
    NODE_COMPLETED = "node_completed"
    NODE_FAILED = "node_failed"
    NODE_SKIPPED = "node_skipped"
    PAUSED = "paused"
    RESUMED = "resumed"
    STATE_EDITED = "state_edited"
    LOG = "log"
    RUN_COMPLETED = "run_completed"
    RUN_FAILED = "run_failed"
    RUN_INTERRUPTED = "run_interrupted"
    RUN_CANCELLED = "run_cancelled"
    FORKED = "forked"
    CLEANUP = "cleanup"
    NODE_RETRIED = "node_retried"
