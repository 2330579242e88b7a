"""Cleanup: delete old checkpoints safely, fold state forward, collect unused outputs and tables."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, delete, func, select, update

from studio.store import checkpoints as checkpoint_rows
from studio.store.records import CheckpointInfo, NewEvent, checksum, dumps, now_iso
from studio.store.schema import checkpoint_t, output_t, table_t
from studio.store.state import StateIndex

if TYPE_CHECKING:
    from studio.store.db import Store


def cleanup(
    store: Store,
    *,
    run: str | None = None,
    keep: int | None = None,
    older_than_days: float | None = None,
    completed: bool = False,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Delete old checkpoints safely; returns how many and how many bytes."""
    runs = [store.get_run(run)] if run else store.list_runs()
    if completed:
        runs = [r for r in runs if r.status == "completed"]
    cutoff = (
        (datetime.now(UTC) - timedelta(days=older_than_days)).isoformat(timespec="milliseconds")
        if older_than_days is not None
        else None
    )
    plan: dict[str, list[CheckpointInfo]] = {}
    for r in runs:
        cps = store.checkpoints(r.id)
        if not cps:
            continue
        protected = {cps[-1]["id"]} if r.status != "completed" else set()
        candidates = cps[: max(len(cps) - keep, 0)] if keep is not None else list(cps)
        chosen = [
            c for c in candidates
            if c["id"] not in protected and (cutoff is None or c["created_at"] < cutoff)
        ]
        if chosen:
            plan[r.id] = chosen
    deleted = sum(len(v) for v in plan.values())
    freed = sum(c["size_bytes"] for v in plan.values() for c in v)
    result: dict[str, Any] = {"deleted": deleted, "bytes": freed, "runs": sorted(plan)}
    if dry_run or not plan:
        result["dry_run"] = dry_run
        return result
    # Fold every state first: a run whose data fails its checksum stops the
    # command before anything is deleted.
    bases = {run_id: _base_after(store, run_id, chosen) for run_id, chosen in plan.items()}
    with store.connections.sa_write() as conn:
        for run_id, chosen in plan.items():
            _delete_checkpoints(store, conn, run_id, chosen, bases[run_id])
        result["outputs_deleted"] = _collect_outputs(store, conn)
        result["tables_deleted"], result["table_bytes"] = _collect_tables(store, conn)
    result["bytes"] += result["table_bytes"]
    store.reclaim_space()
    result["dry_run"] = False
    return result


def _base_after(store: Store, run_id: str, chosen: list[CheckpointInfo]) -> tuple[str, str] | None:
    """The oldest checkpoint kept after deleting ``chosen``, with its full index."""
    doomed = {c["id"] for c in chosen}
    remaining = [c for c in store.checkpoints(run_id) if c["id"] not in doomed]
    if not remaining:
        return None
    first = remaining[0]["id"]
    return first, dumps(store.load(run_id, first, with_outputs=False).index.to_base())


def _delete_checkpoints(
    store: Store, conn: Connection, run_id: str, chosen: list[CheckpointInfo], base: tuple[str, str] | None
) -> None:
    if base is not None:
        # The oldest kept checkpoint must stand on its own once those before it are gone.
        first, index = base
        row = conn.execute(
            select(checkpoint_t.c.delta, checkpoint_t.c.base).where(checkpoint_t.c.id == first)
        ).one()
        if row.base is None:
            conn.execute(
                update(checkpoint_t)
                .where(checkpoint_t.c.id == first)
                .values(base=index, checksum=checksum(row.delta, index))
            )
    doomed = [c["id"] for c in chosen]
    for start in range(0, len(doomed), 500):
        conn.execute(delete(checkpoint_t).where(checkpoint_t.c.id.in_(doomed[start:start + 500])))
    events = [NewEvent("cleanup", None, {"deleted": len(doomed), "checkpoints": sorted(c["seq"] for c in chosen)})]
    checkpoint_rows.insert(cast(sqlite3.Connection, conn.connection.driver_connection), run_id, [(None, events)], now_iso(), {})


def _collect_outputs(store: Store, conn: Connection) -> int:
    """Delete stored outputs that no checkpoint refers to any more."""
    referenced: set[str] = set()
    for row in conn.execute(select(checkpoint_t.c.delta, checkpoint_t.c.base)):
        try:
            if row.base:
                referenced |= StateIndex.from_base(json.loads(row.base)).output_ids()
            delta = json.loads(row.delta)
        except (ValueError, TypeError):
            return 0  # a damaged checkpoint: keep every output rather than guess
        if delta.get("output"):
            referenced.add(delta["output"])
        referenced |= set(delta.get("outputs", {}).values())
    all_ids = set(conn.execute(select(output_t.c.id)).scalars().all())
    orphans = list(all_ids - referenced)
    for start in range(0, len(orphans), 500):
        conn.execute(delete(output_t).where(output_t.c.id.in_(orphans[start:start + 500])))
    return len(orphans)


def _collect_tables(store: Store, conn: Connection) -> tuple[int, int]:
    """Delete stored tables that no outputs row refers to any more; how many and their bytes."""
    referenced: set[str] = set()
    for (refs,) in conn.execute(select(output_t.c.tables).where(output_t.c.tables.is_not(None))):
        try:
            found = json.loads(refs)
        except (ValueError, TypeError):
            return 0, 0  # damaged references: keep every table rather than guess
        if not isinstance(found, dict):
            return 0, 0
        referenced |= {str(h) for h in found.values()}
    orphans = list(set(conn.execute(select(table_t.c.hash)).scalars().all()) - referenced)
    freed = 0
    for start in range(0, len(orphans), 500):
        chunk = orphans[start:start + 500]
        freed += conn.execute(
            select(func.coalesce(func.sum(table_t.c.size_bytes), 0)).where(table_t.c.hash.in_(chunk))
        ).scalar_one()
        conn.execute(delete(table_t).where(table_t.c.hash.in_(chunk)))
    return len(orphans), int(freed)
