"""Connections to a Studio database on the plain driver (``sqlite3``).

One writing connection per store, used under a lock, so a write is one short
``BEGIN IMMEDIATE … COMMIT`` with statements the driver has prepared once and keeps
in its cache; one reading connection per thread. SQLAlchemy (with SQLModel's table
definitions) is brought in only for what is rarely done: creating the schema,
upgrading it, and cleanup.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.errors import NotAStudioDatabase, StudioError

if TYPE_CHECKING:
    from sqlalchemy import Connection as SAConnection
    from sqlalchemy import Engine

BUSY_TIMEOUT_MS = 30_000
Sql = sqlite3.Connection


def retry_busy(action: Callable[[], Any], attempts: int = 200) -> Any:
    """Retry a statement SQLite refuses with "locked" without waiting (switching to WAL)."""
    for attempt in range(attempts):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.01 + 0.001 * attempt)
    return None


def translate(exc: BaseException, where: object) -> StudioError:
    """A driver error as the one-line message a user sees."""
    message = str(getattr(exc, "orig", exc))
    if "not a database" in message:
        return NotAStudioDatabase(f"{where} is not a Studio database")
    if "malformed" in message or "corrupt" in message:
        return NotAStudioDatabase(f"{where} is damaged ({message}); runs in it cannot be read")
    if "readonly" in message or "unable to open" in message:
        return NotAStudioDatabase(f"cannot write {where} ({message})")
    return StudioError(f"database error: {message}")


class Connections:
    """The writing connection, the per-thread readers and, on demand, a SQLAlchemy engine."""

    def __init__(self, path: Path, *, durable: bool) -> None:
        self.path = path
        self.sync = "FULL" if durable else "NORMAL"
        self._write_lock = threading.RLock()
        self._writer: Sql | None = None
        self._local = threading.local()
        self._opened: list[Sql] = []
        self._opened_lock = threading.Lock()
        self._engine: Engine | None = None

    def _open(self) -> Sql:
        con = sqlite3.connect(
            str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
            check_same_thread=False, cached_statements=256,
        )
        con.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        retry_busy(lambda: con.execute("PRAGMA journal_mode=WAL").fetchall())
        con.execute(f"PRAGMA synchronous={self.sync}")
        con.execute("PRAGMA foreign_keys=ON")
        with self._opened_lock:
            self._opened.append(con)
        return con

    @contextmanager
    def write(self) -> Iterator[Sql]:
        """One write transaction; nested uses join the outer one."""
        with self._write_lock:
            try:
                if self._writer is None:
                    self._writer = self._open()
                con = self._writer
                if con.in_transaction:
                    yield con
                    return
                con.execute("BEGIN IMMEDIATE")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            except sqlite3.IntegrityError:
                raise  # the caller decides (a sequence number taken meanwhile is retried)
            except sqlite3.DatabaseError as exc:
                if self._writer is not None and self._writer.in_transaction:
                    self._writer.execute("ROLLBACK")
                raise translate(exc, self.path) from None

    @contextmanager
    def read(self) -> Iterator[Sql]:
        """One read transaction (a consistent snapshot of the file) on this thread's reader."""
        con: Sql | None = getattr(self._local, "con", None)
        try:
            if con is None:
                con = self._local.con = self._open()
            if con.in_transaction:
                yield con
                return
            con.execute("BEGIN")
            try:
                yield con
            finally:
                con.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise translate(exc, self.path) from None

    def outside_transaction(self, sql: str, *, script: bool = False) -> None:
        """A statement that must run outside any transaction (VACUUM-like pragmas)."""
        with self._write_lock:
            if self._writer is None:
                self._writer = self._open()
            try:
                if script:
                    self._writer.executescript(sql)
                else:
                    self._writer.execute(sql).fetchall()
            except sqlite3.DatabaseError as exc:
                raise translate(exc, self.path) from None

    # -- SQLAlchemy, for the rarely-run parts --------------------------------------------

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = _make_engine(self.path, self.sync)
        return self._engine

    @contextmanager
    def sa_write(self) -> Iterator[SAConnection]:
        """A SQLAlchemy write transaction (BEGIN IMMEDIATE), serialized with the writer."""
        from sqlalchemy.exc import DatabaseError

        with self._write_lock:
            try:
                with self.engine.connect() as conn:
                    conn = conn.execution_options(write=True)
                    with conn.begin():
                        yield conn
            except DatabaseError as exc:
                raise translate(exc, self.path) from None

    def close(self) -> None:
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for con in opened:
            try:
                con.close()
            except sqlite3.Error:
                continue  # closing what is already gone
        self._writer = None
        self._local = threading.local()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _make_engine(path: Path, sync: str) -> Engine:
    from sqlalchemy import create_engine, event

    engine = create_engine(
        f"sqlite:///{path}",
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
        retry_busy(lambda: cur.execute("PRAGMA journal_mode=WAL"))
        cur.execute(f"PRAGMA synchronous={sync}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: SAConnection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine
