"""The tables of a Studio database (SQLModel), and its schema version.

The schema version lives twice, kept in step: ``studio_meta.schema_version`` (what
version 1 wrote) and Alembic's ``alembic_version`` (the migration revision). The
revisions are in ``studio.store.migrations.versions``; ``REVISIONS`` lists them here
so that opening a database never needs to import Alembic unless it must upgrade.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from studio.store.version import APP_ID, HEAD_REVISION, REVISIONS, SCHEMA_VERSION

__all__ = ["APP_ID", "HEAD_REVISION", "REVISIONS", "SCHEMA_VERSION"]


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
    data: str  # JSON of the ports that are not tables
    checksum: str
    size_bytes: int
    tables: str | None = None  # JSON {port: table hash} of the ports that are tables (schema 2)


class TableRow(SQLModel, table=True):
    """A table output's bytes (Parquet), stored once by content: several outputs may share it."""

    __tablename__ = "studio_table"
    hash: str = Field(primary_key=True)  # content_hash of ``data``
    data: bytes = Field(sa_type=LargeBinary)
    rows: int
    columns: str  # JSON [{"name", "kind"}]
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
table_t = TableRow.__table__  # type: ignore[attr-defined]

# Alembic's own table, declared here so that a new database is stamped without importing Alembic.
alembic_version_t = Table(
    "alembic_version", MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)
ALL_TABLES = [meta_t, run_t, checkpoint_t, output_t, event_t, table_t]
