"""The Studio database: the only code that speaks SQL.

SQLite in WAL mode with a busy timeout and durable commits; writes are short
``BEGIN IMMEDIATE`` transactions so that several threads and processes can
share one file without "database is locked" surprises.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DatabaseError
from sqlmodel import SQLModel

from studio.errors import (
    CorruptCheckpoint,
    NotAStudioDatabase,
    RunBusy,
    StudioError,
    UnknownCheckpoint,
    UnknownRun,
)
from studio.model.types import is_frame
from studio.store import tables as table_store
from studio.store.cleanup import CleanupMixin
from studio.store.records import (
    NewCheckpoint,
    NewEvent,
    RunRecord,
    checksum,
    dumps,
    now_iso,
    short_id,
    stored_json,
)
from studio.store.schema import (
    ALL_TABLES,
    APP_ID,
    HEAD_REVISION,
    REVISIONS,
    SCHEMA_VERSION,
    alembic_version_t,
    checkpoint_t,
    event_t,
    meta_t,
    output_t,
    run_t,
)
from studio.store.state import Snapshot, StateIndex
from studio.store.tables import FrameHashes, PreparedTable

log = logging.getLogger("studio.store")

# Statements of the hot path (one checkpoint per node) are built once and reused.
_INSERT_OUTPUT = insert(output_t)
_INSERT_CHECKPOINT = insert(checkpoint_t)
_INSERT_EVENT = insert(event_t)
_NEXT_CHECKPOINT_SEQ = select(func.coalesce(func.max(checkpoint_t.c.seq), -1) + 1).where(
    checkpoint_t.c.run_id == bindparam("run_id")
)
_NEXT_EVENT_SEQ = select(func.coalesce(func.max(event_t.c.seq), -1) + 1).where(
    event_t.c.run_id == bindparam("run_id")
)
_UPDATE_RUN = update(run_t).where(run_t.c.id == bindparam("run_key"))
BUSY_TIMEOUT_MS = 30_000
_VERSION_OF_REVISION = {rev: version for version, rev in REVISIONS.items()}
_NO_TABLES: dict[str, str] = {}  # shared, never changed


class _PreparedOutput:
    """One node's outputs serialized for the outputs row (done before the transaction)."""

    __slots__ = ("data", "refs", "tables")

    def __init__(self, data: str, refs: str | None, tables: list[PreparedTable]) -> None:
        self.data, self.refs, self.tables = data, refs, tables


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


def _retry_busy(action: Callable[[], Any], attempts: int = 200) -> Any:
    """Retry a statement SQLite refuses with "locked" without waiting (switching to WAL)."""
    for attempt in range(attempts):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.01 + 0.001 * attempt)
    return None


def _sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///"):
        rest = url[len("sqlite:///"):]
        return Path(rest) if rest and rest != ":memory:" else None
    return None


def _output_checksum(data: str, refs: str | None) -> str:
    """An outputs row's checksum: its JSON and, when it has tables, their hashes too."""
    try:
        return checksum(data) if refs is None else checksum(data, refs)
    except (AttributeError, TypeError):
        return ""  # a stored value of the wrong type never matches: reported as damage


def to_url(db: str | Path) -> str:
    text = str(db)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


class Store(CleanupMixin):
    """Runs, checkpoints, outputs and history in one database."""

    def __init__(self, db: str | Path, *, durable: bool = True) -> None:
        self.url = to_url(db)
        if not self.url.startswith("sqlite:"):
            scheme = self.url.split(":", 1)[0]
            raise NotAStudioDatabase(f"--db {scheme}://…: only SQLite databases are supported in this version")
        self.path = _sqlite_path(self.url)
        self.durable = durable
        self._frames = FrameHashes()
        self._checked_tables = table_store.CheckedBytes()
        self._check_file()
        self.engine = self._make_engine()
        self._init_schema()

    # -- connection setup --------------------------------------------------------------

    def _check_file(self) -> None:
        if self.path is None:
            raise NotAStudioDatabase("an in-memory database cannot keep runs: give --db a file path")
        try:
            if self.path.is_dir():
                raise NotAStudioDatabase(f"{self.path} is a folder, not a Studio database")
            if self.path.exists() and self.path.stat().st_size > 0:
                with open(self.path, "rb") as fh:
                    header = fh.read(16)
                if header != b"SQLite format 3\x00":
                    raise NotAStudioDatabase(f"{self.path} is not a Studio database")
                self._check_foreign(self.path)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise NotAStudioDatabase(f"cannot use {self.path} as the database: {exc.strerror}") from None

    @staticmethod
    def _check_foreign(path: Path) -> None:
        """Refuse another program's SQLite file before anything (even WAL mode) touches it."""
        try:
            con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            finally:
                con.close()
        except sqlite3.OperationalError:
            return  # busy or not openable read-only: the checks after opening decide
        except sqlite3.DatabaseError:
            raise NotAStudioDatabase(f"{path} is not a Studio database") from None
        if tables and "studio_meta" not in tables:
            raise NotAStudioDatabase(f"{path} is not a Studio database (it belongs to another program)")
        if tables:
            Store._check_version_read_only(path, tables)

    @staticmethod
    def _check_version_read_only(path: Path, tables: set[str]) -> None:
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
            return  # busy, or odd: the check in the opening transaction decides
        schema_version_of(meta, revisions, path)

    def _make_engine(self) -> Engine:
        sync = "FULL" if self.durable else "NORMAL"
        engine = create_engine(
            self.url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if cur.execute("PRAGMA page_count").fetchone()[0] == 0:
                # Only possible on a new, empty file (before the first table).
                cur.execute("PRAGMA auto_vacuum=INCREMENTAL")
            _retry_busy(lambda: cur.execute("PRAGMA journal_mode=WAL"))
            cur.execute(f"PRAGMA synchronous={sync}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = "IMMEDIATE" if conn.get_execution_options().get("write") else "DEFERRED"
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One short write transaction (BEGIN IMMEDIATE ... COMMIT)."""
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(write=True)
                with conn.begin():
                    yield conn
        except DatabaseError as exc:
            raise self._translate(exc) from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except DatabaseError as exc:
            raise self._translate(exc) from None

    def _translate(self, exc: Exception) -> StudioError:
        message = str(getattr(exc, "orig", exc))
        where = self.path or self.url
        if "not a database" in message:
            return NotAStudioDatabase(f"{where} is not a Studio database")
        if "malformed" in message or "corrupt" in message:
            return NotAStudioDatabase(f"{where} is damaged ({message}); runs in it cannot be read")
        if "readonly" in message or "unable to open" in message:
            return NotAStudioDatabase(f"cannot write {where} ({message})")
        return StudioError(f"database error: {message}")

    def _init_schema(self) -> None:
        """Create the tables of a new file, or check an existing file is ours (upgrading an older one).

        Everything happens in one BEGIN IMMEDIATE transaction, so processes that open a
        file at the same moment see either nothing or the whole schema, and an upgrade
        happens exactly once (the others wait, then find it done). A new file is stamped
        with the head revision directly: Alembic is imported only to upgrade.
        """
        with self._write() as conn:
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
                upgrade(conn, version, stamped=revisions is not None, where=self.path or self.url)
                log.info(
                    "upgraded %s from schema %d to %d (revision %s) in %.0f ms", self.path, version,
                    SCHEMA_VERSION, HEAD_REVISION, (time.perf_counter() - started) * 1000,
                )

    def close(self) -> None:
        self.engine.dispose()

    # -- runs --------------------------------------------------------------------------

    def _record(self, row: Any) -> RunRecord:
        m = row._mapping
        return RunRecord(
            id=m["id"], workflow=m["workflow"], workflow_json=m["workflow_json"], name=m["name"],
            status=m["status"], created_at=m["created_at"], updated_at=m["updated_at"],
            parent_run=m["parent_run"], parent_checkpoint=m["parent_checkpoint"],
            breakpoints_json=m["breakpoints"], paused_before_json=m["paused_before"],
            owner_host=m["owner_host"], owner_pid=m["owner_pid"], owner_start=m["owner_start"],
            lease_until=m["lease_until"],
        )

    def get_run(self, run_id: str) -> RunRecord:
        with self._read() as conn:
            row = conn.execute(select(run_t).where(run_t.c.id == run_id)).first()
        if row is None:
            raise UnknownRun(f"unknown run '{run_id}'")
        return self._record(row)

    def list_runs(self) -> list[RunRecord]:
        with self._read() as conn:
            rows = conn.execute(select(run_t).order_by(run_t.c.created_at, run_t.c.id)).all()
        return [self._record(r) for r in rows]

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
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Create a running run with its seq-0 checkpoint and first events, in one transaction."""
        stamp = now_iso()
        prepared = self._prepare_outputs(first)
        with self._write() as conn:
            conn.execute(
                insert(run_t).values(
                    id=run_id, workflow=workflow, workflow_json=workflow_json, name=name,
                    status="running", created_at=stamp, updated_at=stamp,
                    parent_run=parent_run, parent_checkpoint=parent_checkpoint,
                    breakpoints=dumps(breakpoints), paused_before="[]", **owner,
                )
            )
            cp = self._insert_checkpoint(conn, run_id, first, stamp, prepared)
            written = self._insert_events(conn, run_id, events, stamp)
        return cp, written

    def claim_run(
        self,
        run_id: str,
        owner: dict[str, Any],
        *,
        allowed: tuple[str, ...],
        expect: tuple[tuple[str, str], int | None] | None = None,
        **fields: Any,
    ) -> bool:
        """Atomically take a run over (status → running).

        Only if its status is one of ``allowed`` and, with ``expect`` (the run's
        ``version`` and latest checkpoint seq as read), nobody changed it since.
        """
        values = {**owner, **fields}
        if isinstance(values.get("breakpoints"), dict):
            values["breakpoints"] = dumps(values["breakpoints"])
        with self._write() as conn:
            if expect is not None and not self._unchanged(conn, run_id, expect):
                return False
            result = conn.execute(
                update(run_t)
                .where(run_t.c.id == run_id, run_t.c.status.in_(allowed))
                .values(status="running", updated_at=now_iso(), **values)
            )
            return result.rowcount == 1

    def _unchanged(self, conn: Connection, run_id: str, expect: tuple[tuple[str, str], int | None]) -> bool:
        (status, updated_at), seq = expect
        row = conn.execute(select(run_t.c.status, run_t.c.updated_at).where(run_t.c.id == run_id)).first()
        latest = conn.execute(select(func.max(checkpoint_t.c.seq)).where(checkpoint_t.c.run_id == run_id)).scalar()
        return row is not None and (row.status, row.updated_at) == (status, updated_at) and latest == seq

    def mark_interrupted_if(self, run_id: str, owner_pid: int | None, owner_host: str | None) -> bool:
        """Mark a running run interrupted, if its owner is still the given (dead) one."""
        stamp = now_iso()
        with self._write() as conn:
            result = conn.execute(
                update(run_t)
                .where(
                    run_t.c.id == run_id,
                    run_t.c.status == "running",
                    run_t.c.owner_pid == owner_pid,
                    run_t.c.owner_host == owner_host,
                )
                .values(status="interrupted", updated_at=stamp, owner_pid=None, lease_until=None)
            )
            if result.rowcount != 1:
                return False
            self._insert_events(
                conn, run_id,
                [NewEvent("run_interrupted", None, {"reason": "the process running it is gone",
                                                    "pid": owner_pid, "host": owner_host})],
                stamp,
            )
            return True

    def update_run(self, run_id: str, events: list[NewEvent] | None = None, **fields: Any) -> list[dict[str, Any]]:
        """Change run fields (and write events) in one transaction."""
        stamp = now_iso()
        values = dict(fields)
        for key in ("breakpoints", "paused_before"):
            if key in values and not isinstance(values[key], str):
                values[key] = dumps(values[key])
        values["updated_at"] = stamp
        with self._write() as conn:
            conn.execute(update(run_t).where(run_t.c.id == run_id).values(**values))
            return self._insert_events(conn, run_id, events or [], stamp)

    def heartbeat(self, run_id: str, lease_until: float) -> None:
        with self._write() as conn:
            conn.execute(update(run_t).where(run_t.c.id == run_id).values(lease_until=lease_until))

    # -- checkpoints and events --------------------------------------------------------

    def commit(
        self,
        run_id: str,
        checkpoint: NewCheckpoint | None,
        events: list[NewEvent],
        expect: tuple[tuple[str, str], int | None] | None = None,
        **run_fields: Any,
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """Write a checkpoint (with its outputs) and events in one transaction."""
        stamp = now_iso()
        prepared = self._prepare_outputs(checkpoint) if checkpoint else None
        with self._write() as conn:
            if expect is not None and not self._unchanged(conn, run_id, expect):
                raise RunBusy(f"run '{run_id}' changed meanwhile (another command is using it): try again")
            cp = self._insert_checkpoint(conn, run_id, checkpoint, stamp, prepared) if checkpoint else None
            written = self._insert_events(conn, run_id, events, stamp)
            conn.execute(_UPDATE_RUN, {**run_fields, "updated_at": stamp, "run_key": run_id})
        return cp, written

    def _prepare_outputs(self, cp: NewCheckpoint) -> dict[str, _PreparedOutput]:
        """Each output's JSON, and the bytes of its tables, made before the write transaction."""
        prepared: dict[str, _PreparedOutput] = {}
        for output_id, item in (cp.outputs or {}).items():
            values: dict[str, Any] = item["data"] or {}
            plain: dict[str, Any] = {}
            refs: dict[str, str] = {}
            tables: list[PreparedTable] = []
            for port, value in values.items():
                if is_frame(value):  # tells a DataFrame without importing Polars
                    table = table_store.prepare(value, self._frames)
                    refs[port] = table.hash
                    tables.append(table)
                else:
                    plain[port] = value
            prepared[output_id] = _PreparedOutput(dumps(plain), dumps(refs) if refs else None, tables)
        return prepared

    def _insert_checkpoint(
        self, conn: Connection, run_id: str, cp: NewCheckpoint, stamp: str,
        prepared: dict[str, _PreparedOutput] | None,
    ) -> dict[str, Any]:
        size = 0
        if cp.outputs:
            assert prepared is not None, "outputs are prepared before the transaction"
            rows = []
            for output_id, item in cp.outputs.items():
                out = prepared[output_id]
                own = len(out.data) + (len(out.refs) if out.refs else 0)
                size += own
                for table in out.tables:
                    size += table_store.write(conn, table)  # bytes this checkpoint added
                rows.append({
                    "id": output_id, "run_id": run_id, "node": item["node"], "data": out.data,
                    "tables": out.refs, "checksum": _output_checksum(out.data, out.refs), "size_bytes": own,
                })
            conn.execute(_INSERT_OUTPUT, rows)
        seq = conn.execute(_NEXT_CHECKPOINT_SEQ, {"run_id": run_id}).scalar_one()
        delta = dumps(cp.delta)
        base = dumps(cp.base) if cp.base is not None else None
        size += len(delta) + (len(base) if base else 0)
        cp_id = short_id("c")
        conn.execute(_INSERT_CHECKPOINT, {
            "id": cp_id, "run_id": run_id, "seq": seq, "node": cp.node, "event": cp.event,
            "created_at": stamp, "size_bytes": size, "delta": delta, "base": base,
            "checksum": checksum(delta, base),
        })
        log.debug("checkpoint %s seq %d of run %s (%s %s, %d bytes)", cp_id, seq, run_id, cp.event, cp.node, size)
        return {"id": cp_id, "seq": seq, "node": cp.node, "event": cp.event, "created_at": stamp, "size_bytes": size}

    def _insert_events(
        self, conn: Connection, run_id: str, events: list[NewEvent], stamp: str
    ) -> list[dict[str, Any]]:
        if not events:
            return []
        seq = conn.execute(_NEXT_EVENT_SEQ, {"run_id": run_id}).scalar_one()
        rows = []
        for i, ev in enumerate(events):
            rows.append({
                "run_id": run_id, "seq": seq + i, "time": stamp, "event": ev.event,
                "node": ev.node, "detail": dumps(ev.detail or {}),
            })
        conn.execute(_INSERT_EVENT, rows)
        return [
            {"run_id": run_id, "seq": r["seq"], "time": stamp, "event": r["event"], "node": r["node"],
             "detail": ev.detail or {}}
            for r, ev in zip(rows, events, strict=True)
        ]

    def add_events(self, run_id: str, events: list[NewEvent]) -> list[dict[str, Any]]:
        with self._write() as conn:
            return self._insert_events(conn, run_id, events, now_iso())

    def checkpoints(self, run_id: str) -> list[dict[str, Any]]:
        self.get_run(run_id)
        cols = [checkpoint_t.c[k] for k in ("id", "seq", "node", "event", "created_at", "size_bytes")]
        with self._read() as conn:
            rows = conn.execute(
                select(*cols).where(checkpoint_t.c.run_id == run_id).order_by(checkpoint_t.c.seq)
            ).all()
        return [dict(r._mapping) for r in rows]

    def history(self, run_id: str) -> list[dict[str, Any]]:
        self.get_run(run_id)
        with self._read() as conn:
            rows = conn.execute(
                select(event_t.c.seq, event_t.c.time, event_t.c.event, event_t.c.node, event_t.c.detail)
                .where(event_t.c.run_id == run_id)
                .order_by(event_t.c.seq)
            ).all()
        return [
            {"seq": r.seq, "time": r.time, "event": r.event, "node": r.node,
             "detail": stored_json(r.detail, f"history event {r.seq} of run '{run_id}'")}
            for r in rows
        ]

    def find_checkpoint(self, checkpoint_id: str) -> dict[str, Any]:
        with self._read() as conn:
            row = conn.execute(
                select(checkpoint_t.c.id, checkpoint_t.c.run_id, checkpoint_t.c.seq)
                .where(checkpoint_t.c.id == checkpoint_id)
            ).first()
        if row is None:
            raise UnknownCheckpoint(f"unknown checkpoint '{checkpoint_id}'")
        return dict(row._mapping)

    def latest_checkpoint(self, run_id: str) -> dict[str, Any] | None:
        with self._read() as conn:
            row = conn.execute(
                select(checkpoint_t.c.id, checkpoint_t.c.run_id, checkpoint_t.c.seq)
                .where(checkpoint_t.c.run_id == run_id)
                .order_by(checkpoint_t.c.seq.desc())
                .limit(1)
            ).first()
        return dict(row._mapping) if row else None

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
        if checkpoint_id is None:
            found = self.latest_checkpoint(run_id)
            if found is None:
                raise UnknownCheckpoint(f"run '{run_id}' has no checkpoints left (they were cleaned up)")
        else:
            found = self.find_checkpoint(checkpoint_id)
            if found["run_id"] != run_id:
                raise UnknownCheckpoint(f"checkpoint '{checkpoint_id}' does not belong to run '{run_id}'")
        target = found["seq"]
        with self._read() as conn:
            base_seq = conn.execute(
                select(func.max(checkpoint_t.c.seq)).where(
                    checkpoint_t.c.run_id == run_id,
                    checkpoint_t.c.seq <= target,
                    checkpoint_t.c.base.is_not(None),
                )
            ).scalar_one()
            if base_seq is None:
                raise CorruptCheckpoint(f"run '{run_id}' has no base checkpoint at or before seq {target}")
            rows = conn.execute(
                select(checkpoint_t.c.id, checkpoint_t.c.seq, checkpoint_t.c.delta,
                       checkpoint_t.c.base, checkpoint_t.c.checksum)
                .where(checkpoint_t.c.run_id == run_id, checkpoint_t.c.seq >= base_seq,
                       checkpoint_t.c.seq <= target)
                .order_by(checkpoint_t.c.seq)
            ).all()
            index = StateIndex()
            for i, row in enumerate(rows):
                if checksum(row.delta, row.base) != row.checksum:
                    raise CorruptCheckpoint(
                        f"checkpoint '{row.id}' (seq {row.seq}) of run '{run_id}' failed its checksum"
                    )
                try:
                    if i == 0:
                        index = StateIndex.from_base(json.loads(row.base))
                    else:
                        index.apply(json.loads(row.delta))
                except (ValueError, TypeError, KeyError) as exc:
                    raise CorruptCheckpoint(f"checkpoint '{row.id}' of run '{run_id}' cannot be read: {exc}") from None
            outputs, tables = self._load_outputs(conn, index, table_rows) if with_outputs else ({}, {})
        log.debug("restored run %s at seq %d in %.2f ms", run_id, target, (time.perf_counter() - started) * 1000)
        return Snapshot(run_id, found["id"], target, index, outputs, tables, table_rows)

    def _load_outputs(
        self, conn: Connection, index: StateIndex, table_rows: int | None = None
    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        wanted = {e.output: node for node, e in index.nodes.items() if e.output}
        found: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
        ids = list(wanted)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for output_id, data, refs_text, digest in conn.execute(
                select(output_t.c.id, output_t.c.data, output_t.c.tables, output_t.c.checksum)
                .where(output_t.c.id.in_(chunk))
            ):
                if _output_checksum(data, refs_text) != digest:
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
        # Which table each hash is (for messages), then each table read and checked once.
        names: dict[str, str] = {}
        for output_id, (_, refs) in found.items():
            for port, digest in refs.items():
                names.setdefault(digest, f"the stored table {wanted[output_id]}.{port}")
        if not names:
            return {node: found[e.output][0] for node, e in index.nodes.items() if e.output}, {}
        info = table_store.read_info(conn, list(names))
        frames: dict[str, Any] = {}
        for digest, what in names.items():
            if digest not in info:
                raise CorruptCheckpoint(f"{what} is missing from the database")
            if table_rows == 0:
                # No rows wanted: the stored columns say all there is to show (no bytes read).
                from studio.tables.frame import empty_frame

                frames[digest] = empty_frame(info[digest]["columns"])
                continue
            # A display load keeps the checked bytes: the GUI will scroll the table.
            data = self._table_bytes(conn, digest, what, keep=table_rows is not None)
            frames[digest] = table_store.decode(data, what, limit=table_rows)
            if table_rows is None:
                self._frames.put(frames[digest], digest)  # passed on unchanged: not serialized again
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

    # -- tables ------------------------------------------------------------------------

    def table_info(self, digest: str) -> dict[str, Any]:
        """``{"hash", "rows", "columns", "size_bytes"}`` of a stored table, without reading its rows."""
        with self._read() as conn:
            info = table_store.read_info(conn, [digest]).get(digest)
        if info is None:
            raise StudioError(f"unknown table '{digest}'")
        return {"hash": digest, **info}

    def table_slice(self, digest: str, offset: int, length: int) -> Any:
        """Rows ``offset .. offset+length`` of a stored table as a DataFrame (bytes checked first)."""
        what = f"the stored table {digest[:12]}"
        with self._read() as conn:
            data = self._table_bytes(conn, digest, what, keep=True)
        return table_store.slice_table(data, offset, length, what)

    def _table_bytes(self, conn: Connection, digest: str, what: str, *, keep: bool) -> bytes:
        """A table's bytes checked against their hash, from the checked copies when one is kept."""
        data = self._checked_tables.get(digest)
        if data is None:
            data = table_store.read_bytes(conn, digest, what)
            if keep:
                self._checked_tables.put(digest, data)
        return data

    # -- cleanup -----------------------------------------------------------------------

    def reclaim_space(self) -> None:
        """Give freed pages back to the file system."""
        if self.path is None:
            return
        self._pragma("PRAGMA incremental_vacuum", script=True)  # (execute() frees one page per step)
        self._pragma("PRAGMA wal_checkpoint(TRUNCATE)")

    def _pragma(self, sql: str, *, script: bool = False) -> None:
        """Run a statement outside any transaction (VACUUM-like pragmas need that)."""
        raw = self.engine.raw_connection()
        try:
            if script:
                raw.driver_connection.executescript(sql)  # type: ignore[union-attr]
                return
            cur = raw.cursor()
            cur.execute(sql)
            cur.fetchall()
            cur.close()
        finally:
            raw.close()


_stores: dict[tuple[str, bool], Store] = {}
_stores_lock = threading.Lock()


def open_store(db: str | Path, *, durable: bool = True) -> Store:
    """A shared ``Store`` per database (engines are thread-safe and pool connections)."""
    key = (to_url(db), durable)
    with _stores_lock:
        store = _stores.get(key)
        if store is not None and store.path is not None and not store.path.exists():
            store.close()  # the file was deleted: start a new one rather than write to the old inode
            store = None
        if store is None:
            store = Store(db, durable=durable)
            _stores[key] = store
        return store
