"""Migration 0007 (category_weights) up and down, on each backend."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from database.packs import load_weights, save_weights
from database.session import Database
from tests.migrations import downgrade


def test_category_weights_table_comes_and_goes(tmp_path: Path, database_url: str) -> None:
    database = Database(database_url or f"sqlite:///{tmp_path / 'audio.db'}")
    try:
        database.migrate("0006")
        assert "category_weights" not in inspect(database.engine).get_table_names()
        database.migrate()
        with database.session() as session:
            save_weights(session, {"kick": 0.5})
        with database.session() as session:
            assert load_weights(session) == {"kick": 0.5}
        downgrade(database, "0006")
        assert "category_weights" not in inspect(database.engine).get_table_names()
        database.migrate()
        assert "category_weights" in inspect(database.engine).get_table_names()
    finally:
        database.dispose()
