"""Versioned database migrations (Alembic), applied by ``maintgraph up`` and ``maintgraph db upgrade``.

Migrations run over a psycopg 3 connection built from the one conninfo that
:class:`maintgraph.services.Services` hands out, so embedded and external Postgres are
migrated the same way. Each revision runs in its own transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from maintgraph.errors import MigrationError

MIN_PGVECTOR = (0, 7)


def require_pgvector(version: str | None) -> None:
    """Refuse a missing or too old pgvector (HNSW cosine + halfvec need >= 0.7)."""
    if version is None:
        raise MigrationError("the database has no pgvector extension (install pgvector >= 0.7)")
    try:
        found = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        raise MigrationError(f"cannot read the pgvector version {version!r}") from None
    if found < MIN_PGVECTOR:
        wanted = ".".join(map(str, MIN_PGVECTOR))
        raise MigrationError(f"pgvector {version} is too old: maintgraph needs >= {wanted}")


@contextmanager
def _alembic(conninfo: str) -> Iterator[tuple[object, object]]:
    import psycopg
    from alembic.config import Config
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(conninfo), poolclass=NullPool)
    config = Config()
    config.set_main_option("script_location", "maintgraph:migrations")
    try:
        with engine.begin() as connection:  # committed when the block ends
            config.attributes["connection"] = connection
            yield config, connection
    finally:
        engine.dispose()


def upgrade(conninfo: str, revision: str = "head") -> None:
    """Bring the database to ``revision`` (idempotent)."""
    from alembic import command
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with _alembic(conninfo) as (config, _):
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        raise MigrationError(f"migration to {revision} failed: {str(exc.orig or exc).strip()}") from None


def current(conninfo: str) -> str | None:
    """The revision the database is at, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    with _alembic(conninfo) as (_, connection):
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    """The newest revision shipped with this version of maintgraph."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "maintgraph:migrations")
    return ScriptDirectory.from_config(config).get_current_head()
