"""Schema 2: table outputs stored once by content hash.

Revision ID: 0002_table_storage
Revises: 0001_baseline

Adds ``studio_table`` (Parquet bytes keyed by their hash) and
``studio_output.tables`` (``{port: hash}``). Outputs written by schema 1 keep their
JSON rows and checksums: ``tables`` stays NULL for them and they read as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_table_storage"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

_meta = sa.table("studio_meta", sa.column("key", sa.String()), sa.column("value", sa.String()))


def upgrade() -> None:
    op.create_table(
        "studio_table",
        sa.Column("hash", sa.String(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("columns", sa.String(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
    )
    op.add_column("studio_output", sa.Column("tables", sa.String(), nullable=True))
    op.execute(_meta.update().where(_meta.c.key == "schema_version").values(value="2"))


def downgrade() -> None:
    with op.batch_alter_table("studio_output") as batch:
        batch.drop_column("tables")
    op.drop_table("studio_table")
    op.execute(_meta.update().where(_meta.c.key == "schema_version").values(value="1"))
