"""Alembic environment: runs on the connection :meth:`database.session.Database.migrate`
hands over, or, from the ``alembic`` command line, on the configured ``DATABASE_URL``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from database.models import Base

target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from core.config import get_settings

    with create_engine(get_settings().effective_database_url).begin() as new_connection:
        _run(new_connection)
