"""Taking a database back to an earlier schema revision, for the migrations' tests
(the product only ever migrates forward: ``Database.migrate``)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from database.session import MIGRATIONS_DIR, Database


def downgrade(database: Database, revision: str) -> None:
    """Run the downgrades of every migration after ``revision`` on ``database``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
