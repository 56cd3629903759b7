"""Migration 0013 (the classifier's order of a region's model tags) up and down, on each
backend: the tags stay, their order goes and comes back empty."""

from __future__ import annotations

from sqlalchemy import inspect, text

from database.session import Database
from tests.migrations import downgrade


def _columns(database: Database) -> set[str]:
    return {column["name"] for column in inspect(database.engine).get_columns("tags")}


def test_tags_get_an_ordinal_and_lose_it_again(unmigrated: Database) -> None:
    unmigrated.migrate()
    with unmigrated.engine.begin() as connection:
        connection.execute(text("INSERT INTO files (path, name, content_hash, size_bytes, status, analyzed_at) "
                                "VALUES ('/a.wav', 'a.wav', 'x', 1, 'ok', CURRENT_TIMESTAMP)"))
        connection.execute(text("INSERT INTO tags (file_id, tag, source, confidence, ordinal, created_at) "
                                "VALUES (1, 'bell', 'model', 0.6, 0, CURRENT_TIMESTAMP)"))
    downgrade(unmigrated, "0012")
    assert "ordinal" not in _columns(unmigrated)
    unmigrated.migrate()
    assert "ordinal" in _columns(unmigrated)
    with unmigrated.engine.connect() as connection:
        assert connection.execute(text("SELECT tag, confidence, ordinal FROM tags")).all() == [("bell", 0.6, None)]
