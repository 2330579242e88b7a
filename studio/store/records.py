"""Plain records the store reads and writes, and the small helpers that shape them."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

from studio.errors import CorruptCheckpoint


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def short_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


def dumps(value: Any) -> str:
    """Canonical JSON; refuses NaN and values JSON cannot hold."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def checksum(*parts: str | None) -> str:
    """A compact checksum (BLAKE2b, 8 bytes as 16 hex digits) of stored JSON parts."""
    return _digest(hashlib.blake2b(digest_size=8), parts)


def checksum_ok(stored: object, *parts: str | None) -> bool:
    """Whether ``stored`` is the checksum of ``parts``: the compact one, or the SHA-256
    that databases written before it hold (64 hex digits)."""
    if not isinstance(stored, str):
        return False
    try:
        if len(stored) == 64:
            return _digest(hashlib.sha256(), parts) == stored
        return checksum(*parts) == stored
    except (AttributeError, TypeError):
        return False  # a stored value of the wrong type never matches: reported as damage


def _digest(h: Any, parts: tuple[str | None, ...]) -> str:
    for part in parts:
        h.update(b"\x00" if part is None else part.encode("utf-8"))
        h.update(b"\x1f")
    return str(h.hexdigest())


class CheckpointInfo(TypedDict):
    """A checkpoint as listed (``Store.checkpoints``) and as written (``Store.commit``)."""

    id: str
    seq: int
    node: str | None
    event: str
    created_at: str
    size_bytes: int


class EventInfo(TypedDict):
    """A history event as written and listed (``detail`` parsed)."""

    run_id: str
    seq: int
    time: str
    event: str
    node: str | None
    detail: dict[str, Any]


@dataclass
class RunRecord:
    """A run row as plain Python."""

    id: str
    workflow: str
    workflow_json: str
    name: str | None
    status: str
    created_at: str
    updated_at: str
    parent_run: str | None
    parent_checkpoint: str | None
    breakpoints_json: str
    paused_before_json: str
    owner_host: str | None
    owner_pid: int | None
    owner_start: str | None
    lease_until: float | None

    @property
    def breakpoints(self) -> dict[str, list[str]]:
        return stored_json(self.breakpoints_json or "{}", f"the breakpoints of run '{self.id}'")

    @property
    def paused_before(self) -> list[str]:
        return stored_json(self.paused_before_json or "[]", f"the pause position of run '{self.id}'")

    @property
    def version(self) -> tuple[str, str]:
        """What a later write compares against to know nobody changed the run meanwhile."""
        return (self.status, self.updated_at)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "workflow": self.workflow,
            "status": self.status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "parent_run": self.parent_run,
        }


@dataclass
class NewEvent:
    """A history event to write."""

    event: str
    node: str | None = None
    detail: dict[str, Any] | None = None


@dataclass
class NewCheckpoint:
    """A checkpoint to write: its event, node, delta, an optional full base, and new outputs."""

    event: str
    node: str | None
    delta: dict[str, Any]
    base: dict[str, Any] | None = None
    outputs: dict[str, dict[str, Any]] | None = None  # output id -> {"node": n, "data": {...}}


def stored_json(text: str, what: str) -> Any:
    """Parse JSON read back from the database; damage is a clear error, never a traceback."""
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        raise CorruptCheckpoint(f"{what} in the database is damaged") from None


