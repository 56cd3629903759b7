"""Database connections: engine creation, SQLite pragmas, migrations, sessions."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: How long a SQLite writer waits for another writer's lock, milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Page cache of each SQLite connection, KiB (SQLite's default is 2 MiB, which makes every
#: search of a large library read its index pages again from the OS).
SQLITE_CACHE_KIB = 32_768
#: PostgreSQL advisory lock held while migrating (any number; the same in every process).
MIGRATION_LOCK = 0x4155_4449_4F  # "AUDIO"
#: PostgreSQL stores no NUL character, in text or in JSON: on every backend, each is stored as
#: U+FFFD (the replacement character), so that a message or result holding one is kept all the same.
NUL, REPLACEMENT = "\x00", "\ufffd"
#: Settings of every PostgreSQL connection, sent as it opens (no statement, no transaction). A search is a few
#: milliseconds of work, which JIT compilation (on for plans its cost model calls large, as any count over a
#: million regions) makes tens of milliseconds more. psycopg prepares a statement run five times, and the
#: server would then plan it once for any parameters: a search's plan depends on them (how many regions a
#: range or a tag holds), so each execution is planned for its own (a combination at a million: 105 → 45 ms).
POSTGRES_OPTIONS = "-c jit=off -c plan_cache_mode=force_custom_plan"
#: The JSON escape of NUL (and not an escaped backslash followed by "u0000").
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


class Database:
    """An engine, its session factory, and the schema brought up to date on :meth:`migrate`.

    SQLite runs in WAL mode with foreign keys on, so readers never block the writer
    and a killed writer leaves the last committed state.
    """

    def __init__(self, url: str):
        self.url = make_url(url)
        self.engine = _create_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    def migrate(self, revision: str = "head") -> None:
        """Apply every Alembic migration up to ``revision`` not yet applied (idempotent)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as connection:
            _lock_for_migration(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def redacted_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def _lock_for_migration(connection: Connection) -> None:
    """Hold the database's write lock (SQLite) or the migration lock (PostgreSQL) until the
    transaction ends: processes that start together (a scan's workers, a scan beside the
    server) migrate one after another, and SQLite runs the migrations' DDL inside the
    transaction (its driver starts one only before DML)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def _json(value: Any) -> str:
    dumped = json.dumps(value)
    return _JSON_NUL.sub(r"\1\\ufffd", dumped) if "\\u0000" in dumped else dumped


def _nul_free(parameters: Any) -> Any:
    if isinstance(parameters, dict):
        return {name: _nul_free(value) for name, value in parameters.items()}
    if isinstance(parameters, list | tuple):
        return type(parameters)(_nul_free(value) for value in parameters)
    return parameters.replace(NUL, REPLACEMENT) if isinstance(parameters, str) else parameters


def _without_nul(_connection, _cursor, statement: str, parameters: Any, _context, _executemany: bool):
    return statement, _nul_free(parameters)


def _create_engine(url: str) -> Engine:
    engine = _sqlite_engine(url) if make_url(url).get_backend_name() == "sqlite" else _postgres_engine(url)
    event.listen(engine, "before_cursor_execute", _without_nul, retval=True)
    return engine


def _postgres_engine(url: str) -> Engine:
    options = " ".join(filter(None, (make_url(url).query.get("options"), POSTGRES_OPTIONS)))
    return create_engine(url, pool_pre_ping=True, json_serializer=_json, connect_args={"options": options})


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
                           json_serializer=_json)
    engine.dialect.statement_compiler = _HintedSQLiteCompiler

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:  # pragma: no branch
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    return engine


class _HintedSQLiteCompiler(SQLiteCompiler):
    """SQLite's compiler, rendering ``select(...).with_hint(table, "INDEXED BY ix", "sqlite")``
    after the table's name (SQLAlchemy's own drops table hints for SQLite)."""

    def get_from_hint_text(self, table, text: str | None) -> str | None:
        return text
