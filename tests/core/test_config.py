"""Settings from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.config import Settings


def test_defaults_are_usable_on_a_fresh_clone(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AUDIO_SAMPLER_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    settings = Settings(_env_file=None)
    assert settings.effective_database_url == f"sqlite:///{settings.data_dir / 'audio.db'}"
    assert settings.host == "127.0.0.1" and settings.port == 8000
    assert settings.effective_workers == (os.cpu_count() or 1)
    assert settings.tmp_dir.parent == settings.upload_dir.parent == settings.data_dir


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://me@localhost/audio")
    monkeypatch.setenv("AUDIO_SAMPLER_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("AUDIO_SAMPLER_WORKERS", "3")
    monkeypatch.setenv("AUDIO_SAMPLER_PLUGINS", '["features"]')
    monkeypatch.setenv("AUDIO_SAMPLER_PLUGIN_TIMEOUTS", '{"features": 5}')
    monkeypatch.setenv("AUDIO_SAMPLER_REGION_MIN_SILENCE_S", "0.5")
    settings = Settings(_env_file=None)
    assert settings.effective_database_url == "postgresql+psycopg://me@localhost/audio"
    assert settings.data_dir == tmp_path / "d" and settings.effective_workers == 3
    assert settings.plugins == ["features"] and settings.plugin_timeouts == {"features": 5.0}
    assert settings.region.min_silence_s == 0.5
    settings.ensure_dirs()
    assert settings.tmp_dir.is_dir() and settings.upload_dir.is_dir()


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIO_SAMPLER_WORKERS", "-1")
    with pytest.raises(ValueError, match="workers"):
        Settings(_env_file=None)


def test_paths_expand_the_home_and_keep_a_tilde_of_no_such_user(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    """``~/x`` is the home's x; ``~no-such-user-0/x`` a folder of that name (pathlib's
    expanduser raised RuntimeError for it, and the server did not start)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUDIO_SAMPLER_DATA_DIR", "~/data")
    monkeypatch.setenv("AUDIO_SAMPLER_LIBRARY_ROOTS", '["~no-such-user-0/samples"]')
    settings = Settings(_env_file=None)
    assert settings.data_dir == tmp_path.resolve() / "data"
    assert settings.library_roots == [tmp_path.resolve() / "~no-such-user-0" / "samples"]
