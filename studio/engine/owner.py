"""Who runs a run: this process's identity, and whether a recorded owner is still alive."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import Counter
from typing import Any

from studio.store import RunRecord, Store

log = logging.getLogger("studio.engine")
LEASE_SECONDS = 30.0
HEARTBEAT_SECONDS = 5.0
HOST = socket.gethostname()

_active: Counter[str] = Counter()  # run id -> executions of it in this process
_active_lock = threading.Lock()


def _stat_fields(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name (empty when unreadable)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return []
    return stat[stat.rfind(")") + 2:].split()


def process_start(pid: int) -> str | None:
    """The kernel's start time of a process (tells a reused pid from the original)."""
    fields = _stat_fields(pid)
    return fields[19] if len(fields) > 19 else None


def _process_state(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def me() -> dict[str, Any]:
    """Owner fields for a run this process is about to execute."""
    pid = os.getpid()
    return {
        "owner_host": HOST,
        "owner_pid": pid,
        "owner_start": process_start(pid),
        "lease_until": time.time() + LEASE_SECONDS,
    }


def mark_active(run_id: str, active: bool) -> None:
    with _active_lock:
        _active[run_id] += 1 if active else -1
        if _active[run_id] <= 0:
            del _active[run_id]


def is_active_here(run_id: str) -> bool:
    with _active_lock:
        return _active[run_id] > 0


def owner_alive(run: RunRecord) -> bool:
    """Whether the process recorded as the run's owner is still there."""
    if run.owner_host != HOST:
        return run.lease_until is not None and run.lease_until > time.time()
    if run.owner_pid is None:
        return False
    if run.owner_pid == os.getpid():
        return is_active_here(run.id)
    try:
        os.kill(run.owner_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        log.debug("process %s belongs to another user; judging it by its start time", run.owner_pid)
    if _process_state(run.owner_pid) in ("Z", "X"):
        return False
    started = process_start(run.owner_pid)
    return run.owner_start is None or started is None or started == run.owner_start


def recover(store: Store, run: RunRecord) -> RunRecord:
    """Mark a ``running`` run whose owner is gone as ``interrupted``; return the fresh record."""
    if run.status != "running" or owner_alive(run):
        return run
    if store.mark_interrupted_if(run.id, run.owner_pid, run.owner_host):
        log.info("run %s was interrupted (owner pid %s on %s is gone)", run.id, run.owner_pid, run.owner_host)
    return store.get_run(run.id)


def recover_all(store: Store) -> list[RunRecord]:
    return [recover(store, r) for r in store.list_runs()]

