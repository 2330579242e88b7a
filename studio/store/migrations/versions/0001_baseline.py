"""Schema 1: runs, checkpoints, outputs as JSON, history.

Revision ID: 0001_baseline
Revises: (none)

A version-1 database (made before Alembic came in) has these tables already and no
``alembic_version``: the store stamps it with this revision, then upgrades. Run on an
empty database, this creates schema 1 as the first release did.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "studio_meta",
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("value", sa.String(), nullable=False),
    )
    op.create_table(
        "studio_run",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("workflow", sa.String(), nullable=False),
        sa.Column("workflow_json", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.Column("parent_run", sa.String(), nullable=True),
        sa.Column("parent_checkpoint", sa.String(), nullable=True),
        sa.Column("breakpoints", sa.String(), nullable=False),
        sa.Column("paused_before", sa.String(), nullable=False),
        sa.Column("owner_host", sa.String(), nullable=True),
        sa.Column("owner_pid", sa.Integer(), nullable=True),
        sa.Column("owner_start", sa.String(), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
    )
    op.create_table(
        "studio_checkpoint",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(), nullable=True),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("delta", sa.String(), nullable=False),
        sa.Column("base", sa.String(), nullable=True),
        sa.Column("checksum", sa.String(), nullable=False),
        sa.UniqueConstraint("run_id", "seq"),
    )
    op.create_table(
        "studio_output",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("node", sa.String(), nullable=False),
        sa.Column("data", sa.String(), nullable=False),
        sa.Column("checksum", sa.String(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
    )
    op.create_table(
        "studio_event",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("time", sa.String(), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("node", sa.String(), nullable=True),
        sa.Column("detail", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "seq"),
    )
    meta = sa.table("studio_meta", sa.column("key", sa.String()), sa.column("value", sa.String()))
    op.bulk_insert(meta, [
        {"key": "app", "value": "workflow-studio"},
        {"key": "schema_version", "value": "1"},
    ])


def downgrade() -> None:
    for name in ("studio_event", "studio_output", "studio_checkpoint", "studio_run", "studio_meta"):
        op.drop_table(name)
