"""Table outputs: Parquet bytes stored once, addressed by their content hash.

A node's outputs row keeps the JSON of its other ports plus ``{port: hash}`` for
its table ports; the bytes live in ``studio_table``, written with INSERT OR IGNORE,
so a table that several nodes or runs produce takes its bytes once. Bytes are
checked against their hash whenever they are read.

DataFrames are treated as immutable (the engine hands them on as they are), so a
table passed on unchanged through several nodes is serialized once per process:
``FrameHashes`` remembers the hash of the frames this store wrote or read lately.
Polars is imported only once a table is actually met.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from studio.errors import CorruptCheckpoint, StudioError
from studio.store.records import dumps, stored_json

if TYPE_CHECKING:
    import sqlite3

    import polars as pl

_INSERT_TABLE = (
    "INSERT OR IGNORE INTO studio_table (hash, data, rows, columns, size_bytes) VALUES (?,?,?,?,?)"
)
_TABLE_EXISTS = "SELECT 1 FROM studio_table WHERE hash = ?"


@dataclass
class PreparedTable:
    """A table ready to be written: its hash, and its bytes unless this process wrote it lately."""

    hash: str
    frame: pl.DataFrame
    data: bytes | None
    rows: int
    columns: str  # JSON [{"name", "kind"}]


class FrameHashes:
    """The content hashes of DataFrames this store wrote or read lately, keyed by identity.

    Holds weak references only; an entry is used only while it is the very same object
    with the same shape and schema.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[int, tuple[weakref.ref[Any], tuple[Any, ...], str]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _shape(df: pl.DataFrame) -> tuple[Any, ...]:
        return (df.height, tuple(df.schema.items()))

    def get(self, df: pl.DataFrame) -> str | None:
        with self._lock:
            item = self._items.get(id(df))
            if item is None:
                return None
            ref, shape, digest = item
            if ref() is not df or shape != self._shape(df):
                del self._items[id(df)]
                return None
            self._items.move_to_end(id(df))
            return digest

    def put(self, df: pl.DataFrame, digest: str) -> None:
        with self._lock:
            self._items[id(df)] = (weakref.ref(df), self._shape(df), digest)
            self._items.move_to_end(id(df))
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class CheckedBytes:
    """Table bytes already checked against their hash, kept for repeated slices (a GUI scrolling).

    Content-addressed bytes never change, so a checked copy stays right; at most
    ``limit`` bytes are kept, the least recently used dropped first.
    """

    def __init__(self, limit: int = 256 * 1024 * 1024) -> None:
        self._limit = limit
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str) -> bytes | None:
        with self._lock:
            data = self._items.get(digest)
            if data is not None:
                self._items.move_to_end(digest)
            return data

    def put(self, digest: str, data: bytes) -> None:
        if len(data) > self._limit:
            return
        with self._lock:
            self._items[digest] = data
            self._items.move_to_end(digest)
            while sum(len(d) for d in self._items.values()) > self._limit:
                self._items.popitem(last=False)


def prepare(df: pl.DataFrame, known: FrameHashes) -> PreparedTable:
    """Serialize a table (outside any transaction: it may take a while for big ones)."""
    from studio.tables.frame import columns_of, content_hash, to_bytes

    columns = dumps(columns_of(df))
    digest = known.get(df)
    if digest is not None:
        return PreparedTable(digest, df, None, df.height, columns)
    data = to_bytes(df)
    digest = content_hash(data)
    known.put(df, digest)
    return PreparedTable(digest, df, data, df.height, columns)


def write(con: sqlite3.Connection, table: PreparedTable) -> int:
    """Store the table unless it is there already; the number of bytes newly written."""
    data = table.data
    if data is None:
        if con.execute(_TABLE_EXISTS, (table.hash,)).fetchone() is not None:
            return 0
        from studio.tables.frame import to_bytes

        data = to_bytes(table.frame)  # cleaned up since this process last wrote it
    cur = con.execute(_INSERT_TABLE, (table.hash, data, table.rows, table.columns, len(data)))
    return len(data) if cur.rowcount == 1 else 0


def read_info(con: sqlite3.Connection, hashes: list[str]) -> dict[str, dict[str, Any]]:
    """``hash -> {"rows", "columns", "size_bytes"}`` without reading any bytes."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(hashes), 500):
        chunk = hashes[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for digest, rows, columns, size in con.execute(
            f"SELECT hash, rows, columns, size_bytes FROM studio_table WHERE hash IN ({marks})", chunk  # noqa: S608
        ):
            found[digest] = {
                "rows": rows,
                "columns": stored_json(columns, f"the columns of stored table {str(digest)[:12]}"),
                "size_bytes": size,
            }
    return found


def read_bytes(con: sqlite3.Connection, digest: str, what: str) -> bytes:
    """A table's bytes, checked against their hash."""
    from studio.tables.frame import content_hash

    row = con.execute("SELECT data FROM studio_table WHERE hash = ?", (digest,)).fetchone()
    data = row[0] if row else None
    if data is None:
        raise CorruptCheckpoint(f"{what} is missing from the database")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CorruptCheckpoint(f"{what} failed its checksum (not bytes)")
    data = bytes(data)
    if content_hash(data) != digest:
        raise CorruptCheckpoint(f"{what} failed its checksum")
    return data


def decode(data: bytes, what: str, *, limit: int | None = None) -> pl.DataFrame:
    from studio.tables.frame import from_bytes

    try:
        return from_bytes(data, limit=limit)
    except Exception as exc:  # noqa: BLE001 - bytes that pass their hash but do not decode
        raise CorruptCheckpoint(f"{what} cannot be read: {type(exc).__name__}") from None


def slice_table(data: bytes, offset: int, length: int, what: str) -> pl.DataFrame:
    from studio.tables.frame import slice_bytes

    if offset < 0 or length < 0:
        raise StudioError(f"{what}: offset and length must be 0 or more")
    try:
        return slice_bytes(data, offset, length)
    except Exception as exc:  # noqa: BLE001 - as in decode
        raise CorruptCheckpoint(f"{what} cannot be read: {type(exc).__name__}") from None
