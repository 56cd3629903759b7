"""Migration 0011 (a trigram index of file names on PostgreSQL) up and down, on each backend;
PostgreSQL searches the names by it."""

from __future__ import annotations

from sqlalchemy import event, inspect, text

from database import queries
from database.session import Database
from tests.migrations import downgrade

INDEX = "ix_files_name_trigrams"


def _indexes(database: Database) -> set[str]:
    return {index["name"] for index in inspect(database.engine).get_indexes("files")}


def test_file_names_get_a_trigram_index_on_postgresql_only(unmigrated: Database) -> None:
    unmigrated.migrate()
    assert (INDEX in _indexes(unmigrated)) == (not unmigrated.is_sqlite)
    downgrade(unmigrated, "0010")
    assert INDEX not in _indexes(unmigrated)
    unmigrated.migrate()
    assert (INDEX in _indexes(unmigrated)) == (not unmigrated.is_sqlite)


def test_postgresql_searches_file_names_by_their_trigrams(postgres) -> None:
    database = Database(postgres.url(postgres.create_database()))
    try:
        database.migrate()
        with database.engine.begin() as connection:
            connection.execute(text("INSERT INTO files (path, name, content_hash, size_bytes, status, analyzed_at) "
                                    "SELECT '/' || n, 'take_' || n || '.wav', 'x', 1, 'ok', now() "
                                    "FROM generate_series(1, 20000) AS n"))
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE files")  # as autovacuum would: the index's pending rows merged
        statements = []

        def record(_connection, _cursor, statement, parameters, _context, _many) -> None:
            if "lower(files.name)" in statement:
                statements.append((statement, parameters))

        event.listen(database.engine, "before_cursor_execute", record)
        with database.session() as session:
            assert queries.search_regions(session, queries.RegionQuery(text="TAKE_1234.")).total == 0
        event.remove(database.engine, "before_cursor_execute", record)
        with database.engine.connect() as connection:
            plans = ["\n".join(connection.exec_driver_sql("EXPLAIN " + statement, parameters).scalars())
                     for statement, parameters in statements]
        assert plans and all(INDEX in plan for plan in plans), plans
    finally:
        database.dispose()
