"""Settings of the engine, read from the environment (and an optional ``.env``).

Every setting has a default that works on a fresh clone; ``DATABASE_URL`` is read
without a prefix (as every database tool expects), everything else with the prefix
``AUDIO_SAMPLER_`` (``AUDIO_SAMPLER_WORKERS=4``, ``AUDIO_SAMPLER_DATA_DIR=/srv/audio``).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Sample rate every plugin receives, in Hz.
SAMPLE_RATE = 22_050

#: Plugins in the order they run when no order is configured (DESIGN.md).
DEFAULT_PLUGIN_ORDER = ("features", "content", "classifier", "tempo_meter", "key_finder", "embeddings")


class RegionSettings(BaseSettings):
    """Silence detection thresholds (see :mod:`core.regions`)."""

    model_config = SettingsConfigDict(env_prefix="AUDIO_SAMPLER_REGION_", extra="ignore")

    #: Length of one RMS frame, seconds. Boundaries are found to within one frame.
    frame_s: float = Field(256 / SAMPLE_RATE, gt=0, le=1)
    #: A frame is sound when its level is above (reference level − relative_db),
    relative_db: float = Field(40.0, gt=0)
    #: ... where the reference is this percentile of the file's frame levels,
    reference_percentile: float = Field(99.0, gt=0, le=100)
    #: ... and never when it is at or below this absolute floor, dBFS.
    floor_db: float = Field(-60.0, le=0)
    #: Silences shorter than this are bridged (they stay inside a region), seconds.
    min_silence_s: float = Field(0.25, ge=0)
    #: Regions shorter than this are dropped, seconds.
    min_region_s: float = Field(0.05, ge=0)
    #: Each region is widened by this much on both sides (never past a neighbour), seconds.
    padding_s: float = Field(0.02, ge=0)


class Settings(BaseSettings):
    """Engine, server and storage settings."""

    model_config = SettingsConfigDict(
        env_prefix="AUDIO_SAMPLER_", env_file=".env", extra="ignore", populate_by_name=True
    )

    #: Folder for the SQLite database, temporary decoded audio and uploads.
    data_dir: Path = PROJECT_ROOT / "data"
    #: SQLAlchemy URL; empty means ``sqlite:///<data_dir>/audio.db``.
    database_url: str = Field("", validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    #: Worker processes for decoding and plugins (0 = number of CPU cores).
    workers: int = Field(0, ge=0, le=256)
    #: Plugins to run, in order (names); empty = every installed plugin in the default order.
    plugins: list[str] = Field(default_factory=list)
    #: Per-plugin overrides of the declared timeout (seconds for one minute of audio).
    plugin_timeouts: dict[str, float] = Field(default_factory=dict)
    #: Per-plugin overrides of the declared memory cap, MiB.
    plugin_memory_mb: dict[str, int] = Field(default_factory=dict)
    #: Wall-clock limit for decoding one file, seconds per hour of audio (minimum 60 s).
    decode_timeout_s: float = Field(300.0, gt=0)
    #: Memory cap of a decoding worker, MiB.
    decode_memory_mb: int = Field(1024, gt=0)
    #: Files longer than this are refused with ``TooLong``, seconds.
    max_duration_s: float = Field(6 * 3600.0, gt=0)
    #: Folders whose files clients may name (``POST /analyze``, jobs); the upload folder
    #: is always allowed. JSON list in the environment.
    library_roots: list[Path] = Field(default_factory=lambda: [Path.home()])
    #: Largest upload accepted by the API, MiB.
    max_upload_mb: int = Field(1024, gt=0)
    #: Jobs queued or running at most; beyond, the API answers 429 (each waiting job holds
    #: memory and its uploads hold disk: the queue must not grow without end).
    max_queued_jobs: int = Field(1000, gt=0)
    #: Rendered excerpts (WAV/FLAC of regions and of formats browsers cannot play) kept, MiB.
    excerpt_cache_mb: int = Field(2048, gt=0)
    #: Interpreter of the experimental (Essentia) environment, and the worker it runs.
    experimental_python: Path = PROJECT_ROOT / "envs" / "experimental" / ".venv" / "bin" / "python"
    experimental_worker: Path = PROJECT_ROOT / "envs" / "experimental" / "worker.py"
    #: The experimental environment's musicnn worker (TensorFlow), a child of its own.
    musicnn_worker: Path = PROJECT_ROOT / "envs" / "experimental" / "musicnn_worker.py"
    #: How long the experimental worker may take to start, seconds.
    bridge_start_timeout_s: float = Field(60.0, gt=0)
    #: Address the server binds to; loopback unless deliberately changed.
    host: str = "127.0.0.1"
    #: Token clients must send (``Authorization: Bearer …``); required when ``host`` is
    #: not a loopback address.
    api_token: str = Field("", repr=False)
    port: int = Field(8000, ge=1, le=65535)
    region: RegionSettings = Field(default_factory=RegionSettings)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return user_path(value).resolve()

    @field_validator("library_roots")
    @classmethod
    def _absolute_roots(cls, value: list[Path]) -> list[Path]:
        return [user_path(root).resolve() for root in value]

    @property
    def allowed_roots(self) -> list[Path]:
        """Where paths from clients may lead: the library roots and the upload folder."""
        return [*self.library_roots, self.upload_dir]

    @property
    def loopback(self) -> bool:
        """Whether the server listens on this machine only."""
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'audio.db'}"

    @property
    def effective_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    @property
    def tmp_dir(self) -> Path:
        """Decoded audio of files being analysed; emptied of stale files at start."""
        return self.data_dir / "tmp"

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def cache_dir(self) -> Path:
        """What can be made again: rendered excerpts, similarity indexes."""
        return self.data_dir / "cache"

    def ensure_dirs(self) -> None:
        for folder in (self.data_dir, self.tmp_dir, self.upload_dir):
            folder.mkdir(parents=True, exist_ok=True)


_current: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings: read from the environment once, or set by :func:`use_settings`."""
    global _current
    if _current is None:
        _current = Settings()
    return _current


def use_settings(settings: Settings) -> None:
    """Make ``settings`` the process-wide settings (a worker takes its engine's this way)."""
    global _current
    _current = settings


def user_path(raw: str | Path) -> Path:
    """``raw`` with a leading ``~`` or ``~user`` expanded as the shell does it: left as it is
    where there is no such user or home (``Path.expanduser`` raises there)."""
    return Path(os.path.expanduser(raw))
