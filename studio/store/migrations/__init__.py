"""Alembic migrations of the Studio schema; ``studio.store.migrate`` runs them on open."""
