"""Shared fixtures: isolated settings and databases, engines with real worker processes."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.config import RegionSettings, Settings
from core.engine import AudioSamplerEngine
from database.session import Database
from plugins.features import Features
from tests import audio_factory as af
from tests.postgres import PostgresServer

#: The databases that database-facing tests run on, each of them once per backend.
BACKENDS = ("sqlite", "postgresql")


def make_settings(data_dir: Path, **overrides) -> Settings:
    """Settings isolated in ``data_dir`` with two workers (the CI machine has two cores)."""
    values = {"data_dir": data_dir, "database_url": "", "workers": 2, "region": RegionSettings(),
              "library_roots": [Path(tempfile.gettempdir())], **overrides}
    return Settings(**values)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test session's own, started when a test first needs it."""
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def migrated_template(postgres: PostgresServer) -> str:
    """A PostgreSQL database brought to the newest schema once, that tests' databases copy."""
    name = postgres.create_database()
    template = Database(postgres.url(name))
    template.migrate()
    template.dispose()
    return name


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@contextmanager
def _fresh_database_url(request: pytest.FixtureRequest, backend: str, migrated: bool = False) -> Iterator[str]:
    """``""`` (SQLite in the settings' data folder) or the URL of a new PostgreSQL database:
    empty, or ``migrated`` to the newest schema."""
    if backend == "sqlite":
        yield ""
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = server.create_database(request.getfixturevalue("migrated_template") if migrated else "template0")
    yield server.url(name)
    server.drop_database(name)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str) -> Iterator[str]:
    """A database of the test's own (``make_settings(..., database_url=...)``), on each backend."""
    with _fresh_database_url(request, backend) as url:
        yield url


@pytest.fixture(scope="module")
def module_database_url(request: pytest.FixtureRequest, backend: str) -> Iterator[str]:
    """A database shared by a module's tests, on each backend."""
    with _fresh_database_url(request, backend) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "data", database_url=database_url)


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> Iterator[Database]:
    """A database of the test's own at the newest schema, on each backend."""
    with _fresh_database_url(request, backend, migrated=True) as url:
        db = Database(url or f"sqlite:///{tmp_path / 'data' / 'audio.db'}")
        db.migrate()  # on PostgreSQL a copy of the migrated template: nothing to do
        yield db
        db.dispose()


@pytest.fixture
def unmigrated(tmp_path: Path, database_url: str) -> Iterator[Database]:
    """An empty database of the test's own, not migrated (the migrations' tests), on each backend."""
    db = Database(database_url or f"sqlite:///{tmp_path / 'audio.db'}")
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def features_engine(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[AudioSamplerEngine]:
    """An engine running only the features plugin, shared by a test module."""
    engine = AudioSamplerEngine(make_settings(tmp_path_factory.mktemp("engine"), database_url=module_database_url),
                                plugins=[Features])
    yield engine
    engine.close()


@pytest.fixture
def gaps_wav(tmp_path: Path) -> Path:
    """Two tones with silence around and between them: sound at 0.5–1.5 s and 2.0–3.25 s."""
    return af.write(tmp_path / "gaps.wav", af.with_gaps([(0.5, 1.5), (2.0, 3.25)], 4.0))
