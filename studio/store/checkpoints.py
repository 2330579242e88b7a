"""Checkpoints, outputs and history on the plain driver: the hot path and the state loader.

A node's commit is three prepared statements (its outputs, its checkpoint, its
events), each one ``executemany`` for all the nodes a group commit holds. While a
process owns a run, a ``RunWriter`` keeps the run's next checkpoint and event
sequence numbers in memory, so a commit reads nothing first; if another command
wrote an event meanwhile (a cleanup), the insert is refused by the primary key and
the commit is retried once with the numbers read again.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

from studio.errors import CorruptCheckpoint, StudioError, UnknownCheckpoint
from studio.model.types import is_frame
from studio.store import tables as table_store
from studio.store.connection import Sql, translate
from studio.store.records import (
    CheckpointInfo,
    EventInfo,
    NewCheckpoint,
    NewEvent,
    checksum,
    checksum_ok,
    dumps,
    short_id,
    stored_json,
)
from studio.store.state import StateIndex
from studio.store.tables import FrameHashes, PreparedTable

log = logging.getLogger("studio.store")

INSERT_OUTPUT = (
    "INSERT INTO studio_output (id, run_id, node, data, tables, checksum, size_bytes) VALUES (?,?,?,?,?,?,?)"
)
INSERT_CHECKPOINT = (
    "INSERT INTO studio_checkpoint (id, run_id, seq, node, event, created_at, size_bytes, delta, base, checksum)"
    " VALUES (?,?,?,?,?,?,?,?,?,?)"
)
INSERT_EVENT = "INSERT INTO studio_event (run_id, seq, time, event, node, detail) VALUES (?,?,?,?,?,?)"
NEXT_SEQS = (
    "SELECT (SELECT coalesce(max(seq), -1) + 1 FROM studio_checkpoint WHERE run_id = ?),"
    " (SELECT coalesce(max(seq), -1) + 1 FROM studio_event WHERE run_id = ?)"
)
_NO_TABLES: dict[str, str] = {}  # shared, never changed
_EMPTY_DETAIL = "{}"

#: One commit of a group: a checkpoint (or none) and the events written with it.
Item = tuple[NewCheckpoint | None, list[NewEvent]]
Written = tuple[CheckpointInfo | None, list[EventInfo]]


class PreparedOutput:
    """One node's outputs serialized for the outputs row (done before the transaction)."""

    __slots__ = ("data", "refs", "tables")

    def __init__(self, data: str, refs: str | None, tables: list[PreparedTable]) -> None:
        self.data, self.refs, self.tables = data, refs, tables


def output_checksum(data: str, refs: str | None) -> str:
    """An outputs row's checksum: its JSON and, when it has tables, their hashes too."""
    return checksum(data) if refs is None else checksum(data, refs)


def output_checksum_ok(stored: object, data: str, refs: str | None) -> bool:
    return checksum_ok(stored, data) if refs is None else checksum_ok(stored, data, refs)


def prepare(items: Sequence[Item], frames: FrameHashes) -> dict[str, PreparedOutput]:
    """Each output's JSON, and the bytes of its tables, made before the write transaction."""
    prepared: dict[str, PreparedOutput] = {}
    for cp, _ in items:
        for output_id, item in ((cp.outputs or {}).items() if cp is not None else ()):
            values: dict[str, Any] = item["data"] or {}
            plain: dict[str, Any] = {}
            refs: dict[str, str] = {}
            tables: list[PreparedTable] = []
            for port, value in values.items():
                if is_frame(value):  # tells a DataFrame without importing Polars
                    table = table_store.prepare(value, frames)
                    refs[port] = table.hash
                    tables.append(table)
                else:
                    plain[port] = value
            prepared[output_id] = PreparedOutput(dumps(plain), dumps(refs) if refs else None, tables)
    return prepared


def next_seqs(con: Sql, run_id: str) -> list[int]:
    """The next checkpoint and event sequence numbers of a run, as stored."""
    cp_seq, ev_seq = con.execute(NEXT_SEQS, (run_id, run_id)).fetchone()
    return [int(cp_seq), int(ev_seq)]


def insert(
    con: Sql, run_id: str, items: Sequence[Item], stamp: str, prepared: dict[str, PreparedOutput],
    seqs: list[int] | None = None,
) -> list[Written]:
    """Write a group of checkpoints and events in the open transaction.

    ``seqs`` (next checkpoint seq, next event seq) is advanced in place; read from the
    database when not given.
    """
    if seqs is None:
        seqs = next_seqs(con, run_id)
    cp_seq, ev_seq = seqs
    outputs: list[tuple[Any, ...]] = []
    checkpoints: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    written: list[Written] = []
    for cp, evs in items:
        info: CheckpointInfo | None = None
        if cp is not None:
            size = 0
            for output_id, item in (cp.outputs or {}).items():
                out = prepared[output_id]
                own = len(out.data) + (len(out.refs) if out.refs else 0)
                size += own
                for table in out.tables:
                    size += table_store.write(con, table)  # bytes this checkpoint added
                outputs.append((output_id, run_id, item["node"], out.data, out.refs,
                                output_checksum(out.data, out.refs), own))
            delta = dumps(cp.delta)
            base = dumps(cp.base) if cp.base is not None else None
            size += len(delta) + (len(base) if base else 0)
            cp_id = short_id("c")
            checkpoints.append((cp_id, run_id, cp_seq, cp.node, cp.event, stamp, size, delta, base,
                                checksum(delta, base)))
            info = {"id": cp_id, "seq": cp_seq, "node": cp.node, "event": cp.event, "created_at": stamp,
                    "size_bytes": size}
            cp_seq += 1
        out_events: list[EventInfo] = []
        for ev in evs:
            detail = ev.detail or {}
            events.append((run_id, ev_seq, stamp, ev.event, ev.node, dumps(detail) if detail else _EMPTY_DETAIL))
            out_events.append({"run_id": run_id, "seq": ev_seq, "time": stamp, "event": ev.event,
                               "node": ev.node, "detail": detail})
            ev_seq += 1
        written.append((info, out_events))
    if outputs:
        con.executemany(INSERT_OUTPUT, outputs)
    if checkpoints:
        con.executemany(INSERT_CHECKPOINT, checkpoints)
    if events:
        con.executemany(INSERT_EVENT, events)
    seqs[0], seqs[1] = cp_seq, ev_seq
    return written


class RunWriter:
    """Writes one run's checkpoints and events while this process owns the run."""

    def __init__(self, store: Any, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        with store.connections.read() as con:
            self.seqs = next_seqs(con, run_id)

    @property
    def next_checkpoint_seq(self) -> int:
        return self.seqs[0]

    def commit(self, items: Sequence[Item]) -> list[Written]:
        """Write ``items`` in one transaction (a group commit)."""
        from studio.store.records import now_iso

        prepared = prepare(items, self.store.frames)
        for attempt in (1, 2):
            seqs = list(self.seqs)
            stamp = now_iso()
            try:
                with self.store.connections.write() as con:
                    if attempt == 2:
                        seqs = next_seqs(con, self.run_id)
                    written = insert(con, self.run_id, items, stamp, prepared, seqs)
            except sqlite3.IntegrityError as exc:
                if attempt == 2:
                    raise translate(exc, self.store.path) from None
                log.debug("run %s: a sequence number was taken meanwhile, reading them again", self.run_id)
                continue
            self.seqs = seqs
            return written
        raise StudioError("unreachable")  # the loop returns or raises


# -- reading ------------------------------------------------------------------------------


def list_checkpoints(con: Sql, run_id: str) -> list[CheckpointInfo]:
    rows = con.execute(
        "SELECT id, seq, node, event, created_at, size_bytes FROM studio_checkpoint WHERE run_id = ? ORDER BY seq",
        (run_id,),
    ).fetchall()
    return [{"id": r[0], "seq": r[1], "node": r[2], "event": r[3], "created_at": r[4], "size_bytes": r[5]}
            for r in rows]


def history(con: Sql, run_id: str) -> list[dict[str, Any]]:
    rows = con.execute(
        "SELECT seq, time, event, node, detail FROM studio_event WHERE run_id = ? ORDER BY seq", (run_id,)
    ).fetchall()
    return [
        {"seq": seq, "time": t, "event": event, "node": node,
         "detail": {} if detail == _EMPTY_DETAIL else stored_json(detail, f"history event {seq} of run '{run_id}'")}
        for seq, t, event, node, detail in rows
    ]


def find(con: Sql, checkpoint_id: str) -> dict[str, Any]:
    row = con.execute("SELECT id, run_id, seq FROM studio_checkpoint WHERE id = ?", (checkpoint_id,)).fetchone()
    if row is None:
        raise UnknownCheckpoint(f"unknown checkpoint '{checkpoint_id}'")
    return {"id": row[0], "run_id": row[1], "seq": row[2]}


def latest(con: Sql, run_id: str) -> dict[str, Any] | None:
    row = con.execute(
        "SELECT id, run_id, seq FROM studio_checkpoint WHERE run_id = ? ORDER BY seq DESC LIMIT 1", (run_id,)
    ).fetchone()
    return {"id": row[0], "run_id": row[1], "seq": row[2]} if row else None


def fold(con: Sql, run_id: str, target: int) -> StateIndex:
    """The state index at checkpoint ``target``: the nearest full index at or before it, then the deltas."""
    found = con.execute(
        "SELECT max(seq) FROM studio_checkpoint WHERE run_id = ? AND seq <= ? AND base IS NOT NULL",
        (run_id, target),
    ).fetchone()
    base_seq = found[0] if found else None
    if base_seq is None:
        raise CorruptCheckpoint(f"run '{run_id}' has no base checkpoint at or before seq {target}")
    rows = con.execute(
        "SELECT id, seq, delta, base, checksum FROM studio_checkpoint"
        " WHERE run_id = ? AND seq >= ? AND seq <= ? ORDER BY seq",
        (run_id, base_seq, target),
    ).fetchall()
    index = StateIndex()
    loads = json.loads
    for i, (cp_id, seq, delta, base, digest) in enumerate(rows):
        if not checksum_ok(digest, delta, base):
            raise CorruptCheckpoint(f"checkpoint '{cp_id}' (seq {seq}) of run '{run_id}' failed its checksum")
        try:
            if i == 0:
                index = StateIndex.from_base(loads(base))
            else:
                index.apply(loads(delta))
        except (ValueError, TypeError, KeyError) as exc:
            raise CorruptCheckpoint(f"checkpoint '{cp_id}' of run '{run_id}' cannot be read: {exc}") from None
    return index


def read_outputs(
    con: Sql, index: StateIndex,
) -> tuple[dict[str, str], dict[str, tuple[dict[str, Any], dict[str, str]]]]:
    """The stored outputs an index refers to, checked: ``(output id → node, output id → (ports, table refs))``."""
    wanted = {e.output: node for node, e in index.nodes.items() if e.output}
    found: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
    ids = list(wanted)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for output_id, data, refs_text, digest in con.execute(
            f"SELECT id, data, tables, checksum FROM studio_output WHERE id IN ({marks})", chunk  # noqa: S608
        ):
            if not isinstance(data, str) or not output_checksum_ok(digest, data, refs_text):
                raise CorruptCheckpoint(f"stored outputs of node '{wanted[output_id]}' failed their checksum")
            if refs_text is None:  # the common case: JSON only
                found[output_id] = (json.loads(data), _NO_TABLES)
                continue
            what = f"the stored outputs of node '{wanted[output_id]}'"
            ports, refs = stored_json(data, what), stored_json(refs_text, what)
            if (not isinstance(ports, dict) or not isinstance(refs, dict)
                    or not all(isinstance(h, str) for h in refs.values())):
                raise CorruptCheckpoint(f"{what} in the database are damaged")
            found[output_id] = (ports, refs)
    missing = [wanted[i] for i in ids if i not in found]
    if missing:
        raise CorruptCheckpoint(f"stored outputs of node '{missing[0]}' are missing")
    return wanted, found
