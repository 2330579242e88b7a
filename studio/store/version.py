"""The schema version a Studio database is at (no imports: read before anything heavy loads)."""

SCHEMA_VERSION = 2
APP_ID = "workflow-studio"
#: Alembic revision of each schema version, oldest first; the last is the head.
REVISIONS = {1: "0001_baseline", 2: "0002_table_storage"}
HEAD_REVISION = REVISIONS[SCHEMA_VERSION]
