"""Migration 0007 (category_weights) up and down, on each backend."""

from __future__ import annotations

from sqlalchemy import inspect

from database.packs import load_weights, save_weights
from database.session import Database
from tests.migrations import downgrade


def test_category_weights_table_comes_and_goes(unmigrated: Database) -> None:
    unmigrated.migrate("0006")
    assert "category_weights" not in inspect(unmigrated.engine).get_table_names()
    unmigrated.migrate()
    with unmigrated.session() as session:
        save_weights(session, {"kick": 0.5})
    with unmigrated.session() as session:
        assert load_weights(session) == {"kick": 0.5}
    downgrade(unmigrated, "0006")
    assert "category_weights" not in inspect(unmigrated.engine).get_table_names()
    unmigrated.migrate()
    assert "category_weights" in inspect(unmigrated.engine).get_table_names()
