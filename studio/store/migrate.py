"""Upgrading an older database in place with Alembic (imported only when an upgrade is due)."""

from __future__ import annotations

from sqlalchemy import Connection

from studio.errors import NotAStudioDatabase
from studio.store.schema import REVISIONS

#: Where the revisions live, as Alembic's ``package:folder`` notation (works from a wheel too).
SCRIPT_LOCATION = "studio.store:migrations"


def config(conn: Connection | None = None) -> object:
    """An Alembic ``Config`` for our migrations, running on ``conn`` (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.attributes["connection"] = conn
    return cfg


def head() -> str:
    """The head revision as the migration scripts say (a test checks it is ``HEAD_REVISION``)."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(config()).get_current_head())  # type: ignore[arg-type]


def upgrade(conn: Connection, version: int, *, stamped: bool, where: object) -> None:
    """Bring the database from schema ``version`` to the head, inside the caller's transaction.

    A version-1 database has no ``alembic_version`` table (``stamped`` false): it is
    first stamped with the baseline revision, whose tables it already has.
    """
    from alembic import command
    from alembic.util import CommandError

    cfg = config(conn)
    try:
        if not stamped:
            command.stamp(cfg, REVISIONS[version])  # type: ignore[arg-type]
        command.upgrade(cfg, "head")  # type: ignore[arg-type]
    except CommandError as exc:
        raise NotAStudioDatabase(f"cannot upgrade {where} from schema {version}: {exc}") from None
