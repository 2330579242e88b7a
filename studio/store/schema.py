"""The tables of a Studio database (SQLModel), and its schema version."""

from __future__ import annotations

from sqlalchemy import PrimaryKeyConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

SCHEMA_VERSION = 1
APP_ID = "workflow-studio"


class Meta(SQLModel, table=True):
    """Key/value facts about the database: which program made it and the schema version."""

    __tablename__ = "studio_meta"
    key: str = Field(primary_key=True)
    value: str


class RunRow(SQLModel, table=True):
    """One run of a workflow, with its owner while it is running."""

    __tablename__ = "studio_run"
    id: str = Field(primary_key=True)
    workflow: str  # path of the workflow file as given
    workflow_json: str  # the workflow as it was run (edit-and-continue compares against it)
    name: str | None = None
    status: str
    created_at: str
    updated_at: str
    parent_run: str | None = None
    parent_checkpoint: str | None = None
    breakpoints: str = "{}"  # {"before": [...], "after": [...]}
    paused_before: str = "[]"  # nodes a paused run stopped before (not fired again on resume)
    owner_host: str | None = None
    owner_pid: int | None = None
    owner_start: str | None = None
    lease_until: float | None = None


class CheckpointRow(SQLModel, table=True):
    """A checkpoint: what changed (``delta``) and, sometimes, the whole index (``base``)."""

    __tablename__ = "studio_checkpoint"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)
    id: str = Field(primary_key=True)
    run_id: str  # (run_id, seq) is unique, and that index serves lookups by run
    seq: int
    node: str | None = None
    event: str
    created_at: str
    size_bytes: int
    delta: str
    base: str | None = None
    checksum: str


class OutputRow(SQLModel, table=True):
    """A node's outputs, written once when it completes; checkpoints refer to them."""

    __tablename__ = "studio_output"
    id: str = Field(primary_key=True)
    run_id: str
    node: str
    data: str
    checksum: str
    size_bytes: int


class EventRow(SQLModel, table=True):
    """One history event of a run."""

    __tablename__ = "studio_event"
    __table_args__ = (PrimaryKeyConstraint("run_id", "seq"),)
    run_id: str
    seq: int
    time: str
    event: str
    node: str | None = None
    detail: str = "{}"


meta_t = Meta.__table__  # type: ignore[attr-defined]
run_t = RunRow.__table__  # type: ignore[attr-defined]
checkpoint_t = CheckpointRow.__table__  # type: ignore[attr-defined]
output_t = OutputRow.__table__  # type: ignore[attr-defined]
event_t = EventRow.__table__  # type: ignore[attr-defined]
