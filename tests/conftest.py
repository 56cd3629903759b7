"""Shared fixtures: isolated settings and databases, engines with real worker processes."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import RegionSettings, Settings
from core.engine import AudioSamplerEngine
from database.session import Database
from plugins.features import Features
from tests import audio_factory as af


def make_settings(data_dir: Path, **overrides) -> Settings:
    """Settings isolated in ``data_dir`` with two workers (the CI machine has two cores)."""
    values = {"data_dir": data_dir, "database_url": "", "workers": 2, "region": RegionSettings(),
              "library_roots": [Path(tempfile.gettempdir())], **overrides}
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    settings.ensure_dirs()
    db = Database(settings.effective_database_url)
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def features_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AudioSamplerEngine]:
    """An engine running only the features plugin, shared by a test module."""
    engine = AudioSamplerEngine(make_settings(tmp_path_factory.mktemp("engine")), plugins=[Features])
    yield engine
    engine.close()


@pytest.fixture
def gaps_wav(tmp_path: Path) -> Path:
    """Two tones with silence around and between them: sound at 0.5–1.5 s and 2.0–3.25 s."""
    return af.write(tmp_path / "gaps.wav", af.with_gaps([(0.5, 1.5), (2.0, 3.25)], 4.0))
