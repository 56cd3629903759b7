"""PostgreSQL finds the files whose name contains a text by a trigram index of their
lower-case names (pg_trgm, of PostgreSQL's contrib), instead of reading every name. Only
where the extension is installed or this user may create it (a trusted extension: the
CREATE privilege on the database); elsewhere, and on SQLite, the names are read.

Revision ID: 0011
Revises: 0010
"""

from alembic import op
from sqlalchemy import Connection, text

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEX = "ix_files_name_trigrams"
#: Whether pg_trgm is there, or this user may create it in this database.
TRIGRAMS_AVAILABLE = text(
    "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_trgm') OR "
    "(EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_trgm') "
    "AND has_database_privilege(current_database(), 'CREATE'))")


def upgrade() -> None:
    bind = op.get_bind()
    if not _postgres(bind) or not bind.scalar(TRIGRAMS_AVAILABLE):
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(f"CREATE INDEX {INDEX} ON files USING gin (lower(name) gin_trgm_ops)")


def downgrade() -> None:
    if _postgres(op.get_bind()):  # the extension stays: it may serve others
        op.execute(f"DROP INDEX IF EXISTS {INDEX}")


def _postgres(bind: Connection) -> bool:
    return bind.dialect.name == "postgresql"
