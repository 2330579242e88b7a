"""The Studio database: the ``Store`` facade, the only way in to SQL.

SQLite in WAL mode with a busy timeout and durable commits; writes are short
``BEGIN IMMEDIATE`` transactions so that several threads and processes can share
one file. The store is split by concern behind this facade: ``connection`` (the
plain-driver connections), ``runs`` (run rows and ownership), ``checkpoints``
(the hot path and the state loader), ``tables`` (table bytes) and ``cleanup``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from studio.errors import (
    NotAStudioDatabase,
    RunBusy,
    StudioError,
    UnknownCheckpoint,
    UnknownRun,
)
from studio.store import checkpoints as cps
from studio.store import runs
from studio.store import tables as table_store
from studio.store.checkpoints import Item, RunWriter, Written
from studio.store.connection import BUSY_TIMEOUT_MS, Connections
from studio.store.records import (
    CheckpointInfo,
    EventInfo,
    NewCheckpoint,
    NewEvent,
    RunRecord,
    dumps,
    now_iso,
)
from studio.store.state import Snapshot, StateIndex
from studio.store.tables import FrameHashes
from studio.store.version import APP_ID, HEAD_REVISION, REVISIONS, SCHEMA_VERSION

log = logging.getLogger("studio.store")
_VERSION_OF_REVISION = {rev: version for version, rev in REVISIONS.items()}


def schema_version_of(meta: dict[str, str], revisions: list[str] | None, where: object) -> int:
    """The schema version a database is at, or a refusal naming why it cannot be used.

    ``revisions`` are the rows of ``alembic_version`` (None when that table is absent,
    as in every version-1 database).
    """
    if meta.get("app") != APP_ID:
        raise NotAStudioDatabase(f"{where} is not a Studio database")
    try:
        version = int(meta.get("schema_version", "0"))
    except ValueError:
        raise NotAStudioDatabase(f"{where} has a damaged schema version") from None
    if version > SCHEMA_VERSION:
        raise NotAStudioDatabase(f"{where} was made by a newer Workflow Studio (schema {version})")
    if revisions is None:
        if version != 1:
            raise NotAStudioDatabase(f"{where} has a damaged schema version (schema {version} without a revision)")
        return version
    if len(revisions) != 1:
        raise NotAStudioDatabase(f"{where} has a damaged schema version ({len(revisions)} revisions recorded)")
    known = _VERSION_OF_REVISION.get(revisions[0])
    if known is None:
        raise NotAStudioDatabase(
            f"{where} was made by a newer Workflow Studio (schema revision {revisions[0]!r})"
        )
    return known




def _sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///"):
        rest = url[len("sqlite:///"):]
        return Path(rest) if rest and rest != ":memory:" else None
    return None




def to_url(db: str | Path) -> str:
    text = str(db)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"




def _check_foreign(path: Path) -> int | None:
    """Refuse another program's SQLite file before anything (even WAL mode) touches it."""
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            con.close()
    except sqlite3.OperationalError:
        return None  # busy or not openable read-only: the checks after opening decide
    except sqlite3.DatabaseError:
        raise NotAStudioDatabase(f"{path} is not a Studio database") from None
    if tables and "studio_meta" not in tables:
        raise NotAStudioDatabase(f"{path} is not a Studio database (it belongs to another program)")
    return _check_version_read_only(path, tables) if tables else None

def _check_version_read_only(path: Path, tables: set[str]) -> int | None:
    """Refuse a newer database before a writing connection (WAL mode, BEGIN IMMEDIATE) exists."""
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            meta = {str(k): str(v) for k, v in con.execute("SELECT key, value FROM studio_meta")}
            revisions = (
                [str(r[0]) for r in con.execute("SELECT version_num FROM alembic_version")]
                if "alembic_version" in tables else None
            )
        finally:
            con.close()
    except sqlite3.Error:
        return None  # busy, or odd: the check in the opening transaction decides
    return schema_version_of(meta, revisions, path)


class Store:
    """Runs, checkpoints, outputs and history in one database."""

    def __init__(self, db: str | Path, *, durable: bool = True) -> None:
        self.url = to_url(db)
        if not self.url.startswith("sqlite:"):
            scheme = self.url.split(":", 1)[0]
            raise NotAStudioDatabase(f"--db {scheme}://…: only SQLite databases are supported in this version")
        path = _sqlite_path(self.url)
        if path is None:
            raise NotAStudioDatabase("an in-memory database cannot keep runs: give --db a file path")
        self.path: Path = path
        self.durable = durable
        self.frames = FrameHashes()
        self._checked_tables = table_store.CheckedBytes()
        at_head = self._check_file()
        self.connections = Connections(self.path, durable=durable)
        if not at_head:
            self._init_schema()

    # -- opening -------------------------------------------------------------------------

    def _check_file(self) -> bool:
        """Refuse what is not a usable Studio database; whether it is one already at the head schema."""
        try:
            if self.path.is_dir():
                raise NotAStudioDatabase(f"{self.path} is a folder, not a Studio database")
            if self.path.exists() and self.path.stat().st_size > 0:
                with open(self.path, "rb") as fh:
                    header = fh.read(16)
                if header != b"SQLite format 3\x00":
                    raise NotAStudioDatabase(f"{self.path} is not a Studio database")
                return _check_foreign(self.path) == SCHEMA_VERSION
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return False
        except OSError as exc:
            raise NotAStudioDatabase(f"cannot use {self.path} as the database: {exc.strerror}") from None

    @property
    def engine(self) -> Any:
        """A SQLAlchemy engine on this database (for migrations and rarely-run queries)."""
        return self.connections.engine

    def _init_schema(self) -> None:
        """Create the tables of a new file, or check an existing file is ours (upgrading an older one).

        Everything happens in one BEGIN IMMEDIATE transaction, so processes that open a
        file at the same moment see either nothing or the whole schema, and an upgrade
        happens exactly once (the others wait, then find it done). A new file is stamped
        with the head revision directly: Alembic is imported only to upgrade.
        """
        from sqlalchemy import insert, select, text
        from sqlmodel import SQLModel

        from studio.store.schema import ALL_TABLES, alembic_version_t, meta_t

        with self.connections.sa_write() as conn:
            tables = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).scalars())
            if not tables:
                SQLModel.metadata.create_all(conn, tables=ALL_TABLES)
                alembic_version_t.create(conn)
                conn.execute(insert(alembic_version_t).values(version_num=HEAD_REVISION))
                conn.execute(insert(meta_t), [
                    {"key": "app", "value": APP_ID},
                    {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                ])
                return
            if "studio_meta" not in tables:
                raise NotAStudioDatabase(
                    f"{self.path} is not a Studio database (it belongs to another program)"
                )
            meta: dict[str, str] = {k: v for k, v in conn.execute(select(meta_t.c.key, meta_t.c.value))}
            revisions = (
                list(conn.execute(select(alembic_version_t.c.version_num)).scalars())
                if "alembic_version" in tables else None
            )
            version = schema_version_of(meta, revisions, self.path)
            if version < SCHEMA_VERSION:
                from studio.store.migrate import upgrade

                started = time.perf_counter()
                upgrade(conn, version, stamped=revisions is not None, where=self.path)
                log.info(
                    "upgraded %s from schema %d to %d (revision %s) in %.0f ms", self.path, version,
                    SCHEMA_VERSION, HEAD_REVISION, (time.perf_counter() - started) * 1000,
                )

    def close(self) -> None:
        self.connections.close()

    # -- runs ----------------------------------------------------------------------------

    def get_run(self, run_id: str) -> RunRecord:
        with self.connections.read() as con:
            rec = runs.get(con, run_id)
        if rec is None:
            raise UnknownRun(f"unknown run '{run_id}'")
        return rec

    def list_runs(self) -> list[RunRecord]:
        with self.connections.read() as con:
            return runs.list_all(con)

    def create_run(
        self,
        *,
        run_id: str,
        workflow: str,
        workflow_json: str,
        name: str | None,
        breakpoints: dict[str, list[str]],
        owner: dict[str, Any],
        first: NewCheckpoint,
        events: list[NewEvent],
        parent_run: str | None = None,
        parent_checkpoint: str | None = None,
        then: Sequence[Item] = (),
    ) -> list[Written]:
        """Create a running run with its seq-0 checkpoint, first events and ``then``, in one transaction."""
        stamp = now_iso()
        items: list[Item] = [(first, events), *then]
        prepared = cps.prepare(items, self.frames)
        with self.connections.write() as con:
            runs.insert(con, {
                "id": run_id, "workflow": workflow, "workflow_json": workflow_json, "name": name,
                "status": "running", "created_at": stamp, "updated_at": stamp, "parent_run": parent_run,
                "parent_checkpoint": parent_checkpoint, "breakpoints": dumps(breakpoints),
                "paused_before": "[]", **owner,
            })
            return cps.insert(con, run_id, items, stamp, prepared, [0, 0])

    def claim_run(
        self,
        run_id: str,
        owner: dict[str, Any],
        *,
        allowed: Sequence[str],
        expect: tuple[tuple[str, str], int | None] | None = None,
        then: Sequence[Item] = (),
        **fields: Any,
    ) -> list[Written] | None:
        """Atomically take a run over (status → running) and write ``then``; None if refused.

        Only if its status is one of ``allowed`` and, with ``expect`` (the run's
        ``version`` and latest checkpoint seq as read), nobody changed it since.
        """
        values = {**owner, **fields}
        if isinstance(values.get("breakpoints"), dict):
            values["breakpoints"] = dumps(values["breakpoints"])
        stamp = now_iso()
        prepared = cps.prepare(then, self.frames)
        with self.connections.write() as con:
            if expect is not None and not runs.unchanged(con, run_id, expect):
                return None
            if not runs.claim(con, run_id, allowed, {"status": "running", "updated_at": stamp, **values}):
                return None
            return cps.insert(con, run_id, then, stamp, prepared)

    def mark_interrupted_if(self, run_id: str, owner_pid: int | None, owner_host: str | None) -> bool:
        """Mark a running run interrupted, if its owner is still the given (dead) one."""
        stamp = now_iso()
        with self.connections.write() as con:
            if not runs.mark_interrupted_if(con, run_id, owner_pid, owner_host, stamp):
                return False
            cps.insert(con, run_id, [(None, [NewEvent("run_interrupted", None, {
                "reason": "the process running it is gone", "pid": owner_pid, "host": owner_host})])], stamp, {})
            return True

    def update_run(self, run_id: str, events: list[NewEvent] | None = None, **fields: Any) -> list[EventInfo]:
        """Change run fields (and write events) in one transaction."""
        stamp = now_iso()
        values = dict(fields)
        for key in ("breakpoints", "paused_before"):
            if key in values and not isinstance(values[key], str):
                values[key] = dumps(values[key])
        values["updated_at"] = stamp
        with self.connections.write() as con:
            runs.update(con, run_id, values)
            return cps.insert(con, run_id, [(None, events or [])], stamp, {})[0][1]

    def heartbeat(self, run_id: str, lease_until: float) -> None:
        with self.connections.write() as con:
            runs.update(con, run_id, {"lease_until": lease_until})

    # -- checkpoints and events ----------------------------------------------------------

    def writer(self, run_id: str) -> RunWriter:
        """The hot path for a run this process owns now (sequence numbers kept in memory)."""
        return RunWriter(self, run_id)

    def commit(
        self,
        run_id: str,
        checkpoint: NewCheckpoint | None,
        events: list[NewEvent],
        expect: tuple[tuple[str, str], int | None] | None = None,
        **run_fields: Any,
    ) -> tuple[CheckpointInfo | None, list[EventInfo]]:
        """Write a checkpoint (with its outputs) and events in one transaction (commands, edits)."""
        stamp = now_iso()
        items: list[Item] = [(checkpoint, events)]
        prepared = cps.prepare(items, self.frames)
        with self.connections.write() as con:
            if expect is not None and not runs.unchanged(con, run_id, expect):
                raise RunBusy(f"run '{run_id}' changed meanwhile (another command is using it): try again")
            written = cps.insert(con, run_id, items, stamp, prepared)
            runs.update(con, run_id, {**run_fields, "updated_at": stamp})
        return written[0]

    def add_events(self, run_id: str, events: list[NewEvent]) -> list[EventInfo]:
        with self.connections.write() as con:
            return cps.insert(con, run_id, [(None, events)], now_iso(), {})[0][1]

    def checkpoints(self, run_id: str) -> list[CheckpointInfo]:
        with self.connections.read() as con:
            if runs.get(con, run_id) is None:
                raise UnknownRun(f"unknown run '{run_id}'")
            return cps.list_checkpoints(con, run_id)

    def history(self, run_id: str) -> list[dict[str, Any]]:
        with self.connections.read() as con:
            if runs.get(con, run_id) is None:
                raise UnknownRun(f"unknown run '{run_id}'")
            return cps.history(con, run_id)

    def find_checkpoint(self, checkpoint_id: str) -> dict[str, Any]:
        with self.connections.read() as con:
            return cps.find(con, checkpoint_id)

    def latest_checkpoint(self, run_id: str) -> dict[str, Any] | None:
        with self.connections.read() as con:
            return cps.latest(con, run_id)

    def load(
        self, run_id: str, checkpoint_id: str | None = None, *, with_outputs: bool = True,
        table_rows: int | None = None,
    ) -> Snapshot:
        """The state at a checkpoint (latest when ``None``), verified against its checksums.

        Table ports come back as DataFrames. With ``table_rows`` only the first that many
        rows of each table are decoded (for display: such a snapshot must not be resumed);
        ``Snapshot.tables`` still tells each table's full row count and columns.
        """
        if table_rows is not None and table_rows < 0:
            raise StudioError("the number of table rows to show must be 0 or more")
        started = time.perf_counter()
        with self.connections.read() as con:
            if checkpoint_id is None:
                found = cps.latest(con, run_id)
                if found is None:
                    raise UnknownCheckpoint(f"run '{run_id}' has no checkpoints left (they were cleaned up)")
            else:
                found = cps.find(con, checkpoint_id)
                if found["run_id"] != run_id:
                    raise UnknownCheckpoint(f"checkpoint '{checkpoint_id}' does not belong to run '{run_id}'")
            target = found["seq"]
            index = cps.fold(con, run_id, target)
            outputs, tables = self._load_outputs(con, index, table_rows) if with_outputs else ({}, {})
        log.debug("restored run %s at seq %d in %.2f ms", run_id, target, (time.perf_counter() - started) * 1000)
        return Snapshot(run_id, found["id"], target, index, outputs, tables, table_rows)

    def _load_outputs(
        self, con: sqlite3.Connection, index: StateIndex, table_rows: int | None = None
    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        wanted, found = cps.read_outputs(con, index)
        # Which table each hash is (for messages), then each table read and checked once.
        names: dict[str, str] = {}
        for output_id, (_, refs) in found.items():
            for port, digest in refs.items():
                names.setdefault(digest, f"the stored table {wanted[output_id]}.{port}")
        if not names:
            return {node: found[e.output][0] for node, e in index.nodes.items() if e.output}, {}
        info = table_store.read_info(con, list(names))
        frames: dict[str, Any] = {}
        for digest, what in names.items():
            if digest not in info:
                raise _missing(what)
            if table_rows == 0:
                # No rows wanted: the stored columns say all there is to show (no bytes read).
                from studio.tables.frame import empty_frame

                frames[digest] = empty_frame(info[digest]["columns"])
                continue
            # A display load keeps the checked bytes: the GUI will scroll the table.
            data = self._table_bytes(con, digest, what, keep=table_rows is not None)
            frames[digest] = table_store.decode(data, what, limit=table_rows)
            if table_rows is None:
                self.frames.put(frames[digest], digest)  # passed on unchanged: not serialized again
        outputs: dict[str, dict[str, Any]] = {}
        tables: dict[str, dict[str, Any]] = {}
        for node, e in index.nodes.items():
            if not e.output:
                continue
            ports, refs = found[e.output]
            values = dict(ports)
            for port, digest in refs.items():
                values[port] = frames[digest]
                tables[f"{node}.{port}"] = {
                    "rows": info[digest]["rows"], "columns": info[digest]["columns"], "hash": digest,
                }
            outputs[node] = values
        return outputs, tables

    # -- tables --------------------------------------------------------------------------

    def table_info(self, digest: str) -> dict[str, Any]:
        """``{"hash", "rows", "columns", "size_bytes"}`` of a stored table, without reading its rows."""
        with self.connections.read() as con:
            info = table_store.read_info(con, [digest]).get(digest)
        if info is None:
            raise StudioError(f"unknown table '{digest}'")
        return {"hash": digest, **info}

    def table_slice(self, digest: str, offset: int, length: int) -> Any:
        """Rows ``offset .. offset+length`` of a stored table as a DataFrame (bytes checked first)."""
        what = f"the stored table {digest[:12]}"
        with self.connections.read() as con:
            data = self._table_bytes(con, digest, what, keep=True)
        return table_store.slice_table(data, offset, length, what)

    def _table_bytes(self, con: sqlite3.Connection, digest: str, what: str, *, keep: bool) -> bytes:
        """A table's bytes checked against their hash, from the checked copies when one is kept."""
        data = self._checked_tables.get(digest)
        if data is None:
            data = table_store.read_bytes(con, digest, what)
            if keep:
                self._checked_tables.put(digest, data)
        return data

    # -- cleanup -------------------------------------------------------------------------

    def cleanup(
        self,
        *,
        run: str | None = None,
        keep: int | None = None,
        older_than_days: float | None = None,
        completed: bool = False,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Delete old checkpoints safely; returns how many and how many bytes."""
        from studio.store.cleanup import cleanup

        return cleanup(self, run=run, keep=keep, older_than_days=older_than_days, completed=completed,
                       dry_run=dry_run)

    def reclaim_space(self) -> None:
        """Give freed pages back to the file system."""
        self.connections.outside_transaction("PRAGMA incremental_vacuum", script=True)
        self.connections.outside_transaction("PRAGMA wal_checkpoint(TRUNCATE)")


def _missing(what: str) -> StudioError:
    from studio.errors import CorruptCheckpoint

    return CorruptCheckpoint(f"{what} is missing from the database")


_stores: dict[tuple[str, bool], Store] = {}
_stores_lock = threading.Lock()


def open_store(db: str | Path, *, durable: bool = True) -> Store:
    """A shared ``Store`` per database (its connections are safe to use from any thread)."""
    key = (to_url(db), durable)
    with _stores_lock:
        store = _stores.get(key)
        if store is not None and not store.path.exists():
            store.close()  # the file was deleted: start a new one rather than write to the old inode
            store = None
        if store is None:
            store = Store(db, durable=durable)
            _stores[key] = store
        return store
