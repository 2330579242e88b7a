"""Run rows: reading them as ``RunRecord`` and changing them (status, owner, lease)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from studio.status import RunStatus
from studio.store.connection import Sql
from studio.store.records import RunRecord

COLUMNS = (
    "id", "workflow", "workflow_json", "name", "status", "created_at", "updated_at", "parent_run",
    "parent_checkpoint", "breakpoints", "paused_before", "owner_host", "owner_pid", "owner_start", "lease_until",
)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM studio_run"  # noqa: S608 - fixed column names
_SETTABLE = frozenset(COLUMNS) - {"id"}


def _record(row: tuple[Any, ...]) -> RunRecord:
    (id_, workflow, workflow_json, name, status, created_at, updated_at, parent_run, parent_checkpoint,
     breakpoints, paused_before, owner_host, owner_pid, owner_start, lease_until) = row
    return RunRecord(
        id=id_, workflow=workflow, workflow_json=workflow_json, name=name, status=status,
        created_at=created_at, updated_at=updated_at, parent_run=parent_run,
        parent_checkpoint=parent_checkpoint, breakpoints_json=breakpoints, paused_before_json=paused_before,
        owner_host=owner_host, owner_pid=owner_pid, owner_start=owner_start, lease_until=lease_until,
    )


def get(con: Sql, run_id: str) -> RunRecord | None:
    row = con.execute(f"{_SELECT} WHERE id = ?", (run_id,)).fetchone()
    return _record(row) if row else None


def list_all(con: Sql) -> list[RunRecord]:
    return [_record(r) for r in con.execute(f"{_SELECT} ORDER BY created_at, id")]


def _assignments(values: dict[str, Any]) -> tuple[str, list[Any]]:
    unknown = set(values) - _SETTABLE
    if unknown:
        raise ValueError(f"not a run field: {sorted(unknown)}")
    keys = list(values)
    return ", ".join(f"{k} = ?" for k in keys), [values[k] for k in keys]


def insert(con: Sql, values: dict[str, Any]) -> None:
    keys = list(values)
    con.execute(
        f"INSERT INTO studio_run ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))})",  # noqa: S608
        [values[k] for k in keys],
    )


def update(con: Sql, run_id: str, values: dict[str, Any]) -> None:
    if not values:
        return
    sets, params = _assignments(values)
    con.execute(f"UPDATE studio_run SET {sets} WHERE id = ?", [*params, run_id])  # noqa: S608


def claim(con: Sql, run_id: str, allowed: Sequence[str], values: dict[str, Any]) -> bool:
    """Set ``values`` on the run if its status is one of ``allowed``; whether it was."""
    sets, params = _assignments(values)
    allowed = list(allowed)
    cur = con.execute(
        f"UPDATE studio_run SET {sets} WHERE id = ? AND status IN ({', '.join('?' * len(allowed))})",  # noqa: S608
        [*params, run_id, *allowed],
    )
    return cur.rowcount == 1


def unchanged(con: Sql, run_id: str, expect: tuple[tuple[str, str], int | None]) -> bool:
    """Whether the run is still as read: same status and update time, same latest checkpoint."""
    (status, updated_at), seq = expect
    row = con.execute(
        "SELECT status, updated_at, (SELECT max(seq) FROM studio_checkpoint WHERE run_id = ?)"
        " FROM studio_run WHERE id = ?", (run_id, run_id),
    ).fetchone()
    return row is not None and (row[0], row[1]) == (status, updated_at) and row[2] == seq


def mark_interrupted_if(con: Sql, run_id: str, owner_pid: int | None, owner_host: str | None, stamp: str) -> bool:
    cur = con.execute(
        "UPDATE studio_run SET status = ?, updated_at = ?, owner_pid = NULL, lease_until = NULL"
        " WHERE id = ? AND status = ? AND owner_pid IS ? AND owner_host IS ?",
        (RunStatus.INTERRUPTED, stamp, run_id, RunStatus.RUNNING, owner_pid, owner_host),
    )
    return cur.rowcount == 1
