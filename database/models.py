"""SQLAlchemy 2 models. Alembic (``database/migrations``) owns the schema built from them.

files ─< regions ─< region_analysis
  │         ├─< region_vectors (one per embedding model)
  │         └── region_peaks (one row each)
  │└── file_summary, waveforms (one row each)
  └─< tags >─ regions (a tag belongs to a file or to a region)
category_weights (sample packs' weights per tag)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

#: JSON column: JSONB on PostgreSQL (indexable), JSON text elsewhere.
JsonType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator):
    """A moment, stored in UTC and read back as an aware UTC datetime on every backend
    (SQLite keeps no zone; PostgreSQL answers in the connection's time zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class FileStatus:
    """Values of ``files.status``."""

    OK = "ok"
    ERROR = "error"


class File(Base):
    """One audio file. ``status`` is ``ok`` or ``error`` (with ``error_code`` and ``error``)."""

    __tablename__ = "files"
    #: The order files were analysed in: a search sorted by that date reads the files along it.
    __table_args__ = (Index("ix_files_analyzed_at", "analyzed_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    #: On PostgreSQL also a trigram index of lower(name), for names that contain a text
    #: (migration 0011, where the pg_trgm extension can be had).
    name: Mapped[str] = mapped_column(Text, index=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str | None] = mapped_column(String(32))
    codec: Mapped[str | None] = mapped_column(String(32))
    sample_rate: Mapped[int | None] = mapped_column(Integer)
    channels: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)
    error_code: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    analyzed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    regions: Mapped[list[Region]] = relationship(
        back_populates="file", cascade="all, delete-orphan", passive_deletes=True, order_by="Region.index"
    )
    summary: Mapped[FileSummary | None] = relationship(
        back_populates="file", cascade="all, delete-orphan", passive_deletes=True
    )
    waveform: Mapped[Waveform | None] = relationship(cascade="all, delete-orphan", passive_deletes=True)


#: The columns a region search filters on. Each facet leads an index of its own, followed
#: by ``id`` (the sort order's tie-break) and all the others, and the listing index (by
#: file name) holds them all too: whichever index a search starts from, its other
#: conditions are checked in the index, never in the table.
SEARCH_COLUMNS = ("bpm", "key", "content", "loudness_lufs", "duration_s", "file_id")
SEARCH_FACETS = SEARCH_COLUMNS[:-1]


def _facet_index(facet: str) -> Index:
    return Index(f"ix_regions_{facet}", facet, "id", *(c for c in SEARCH_COLUMNS if c != facet))


class Region(Base):
    """A stretch of sound between silences. start_s, end_s: seconds in the file.

    Only files whose status is ``ok`` have regions (database.store keeps it so)."""

    __tablename__ = "regions"
    __table_args__ = (
        UniqueConstraint("file_id", "index"),
        Index("ix_regions_listing", "file_name", "index", "id", *SEARCH_COLUMNS),
        *(_facet_index(facet) for facet in SEARCH_FACETS),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), index=True)
    #: The file's name, copied so that sorting by name walks an index (a file's name only
    #: changes with its path, which makes it another file).
    file_name: Mapped[str | None] = mapped_column(Text)
    index: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)
    #: Search facets copied from the plugins' results (database.store.FACETS), see SEARCH_COLUMNS for their indexes.
    bpm: Mapped[float | None] = mapped_column(Float)
    key: Mapped[str | None] = mapped_column(String(16))
    loudness_lufs: Mapped[float | None] = mapped_column(Float)
    content: Mapped[str | None] = mapped_column(String(16))
    file: Mapped[File] = relationship(back_populates="regions")
    peaks_row: Mapped[RegionPeaks | None] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    analyses: Mapped[list[RegionAnalysis]] = relationship(
        back_populates="region", cascade="all, delete-orphan", passive_deletes=True, order_by="RegionAnalysis.id"
    )
    #: The region's own tags (user and model); a file's tags hang on the file.
    tags: Mapped[list[Tag]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    vectors: Mapped[list[RegionVector]] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    @hybrid_property
    def peaks(self) -> dict[str, Any] | None:
        """Small min/max waveform of the region itself (core.waveform dict), kept in
        ``region_peaks``; in a query, a subquery of it."""
        return self.peaks_row.peaks if self.peaks_row is not None else None

    @peaks.inplace.setter
    def _peaks_setter(self, value: dict[str, Any]) -> None:
        self.peaks_row = RegionPeaks(peaks=value)

    @peaks.inplace.expression
    @classmethod
    def _peaks_expression(cls):
        return select(RegionPeaks.peaks).where(RegionPeaks.region_id == cls.id).scalar_subquery()


class RegionPeaks(Base):
    """A region's own small min/max waveform (core.waveform dict, ~8 kB of JSON), apart
    from ``regions`` so that the rows a search reads stay narrow."""

    __tablename__ = "region_peaks"

    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"), primary_key=True)
    peaks: Mapped[dict[str, Any]] = mapped_column(JsonType)


class RegionAnalysis(Base):
    """One plugin's outcome on one region: ``status`` is a core.sandbox.Outcome value."""

    __tablename__ = "region_analysis"
    __table_args__ = (UniqueConstraint("region_id", "plugin"), Index("ix_region_analysis_plugin", "plugin", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"), index=True)
    plugin: Mapped[str] = mapped_column(String(64))
    plugin_version: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    elapsed_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    region: Mapped[Region] = relationship(back_populates="analyses")


class FileSummary(Base):
    """File-level results merged from every plugin's ``summarize``."""

    __tablename__ = "file_summary"

    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), primary_key=True)
    summary: Mapped[dict[str, Any]] = mapped_column(JsonType)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    file: Mapped[File] = relationship(back_populates="summary")


class Waveform(Base):
    """The file's overview (1 000 points) and zoom (8 000 points) peaks."""

    __tablename__ = "waveforms"

    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), primary_key=True)
    overview: Mapped[dict[str, Any]] = mapped_column(JsonType)
    zoom: Mapped[dict[str, Any]] = mapped_column(JsonType)


class TagSource:
    """Values of ``tags.source``: a person's tag, or a model's (with confidence and version)."""

    USER = "user"
    MODEL = "model"


class Tag(Base):
    """A tag on a file or a region. ``tag`` is stored normalised (:func:`normalise_tag`);
    ``confidence``: the model's probability 0 … 1, None for a person's tag; ``ordinal``:
    the classifier's order of its tags on the region (0 first, see
    :func:`database.store.model_tags`), None for a person's tags and trained taggers'."""

    __tablename__ = "tags"
    __table_args__ = (
        CheckConstraint("(file_id IS NULL) <> (region_id IS NULL)", name="ck_tags_one_target"),
        CheckConstraint("source IN ('user', 'model')", name="ck_tags_source"),
        UniqueConstraint("file_id", "region_id", "tag", "source"),
        Index("ix_tags_tag_region_confidence", "tag", "region_id", "confidence"),
        Index("ix_tags_tag_file", "tag", "file_id"),
        # one of the two ids is always NULL, so each target's tags are unique by a partial index
        Index("uq_tags_region_tag_source", "region_id", "tag", "source", unique=True,
              sqlite_where=text("region_id IS NOT NULL"), postgresql_where=text("region_id IS NOT NULL")),
        Index("uq_tags_file_tag_source", "file_id", "tag", "source", unique=True,
              sqlite_where=text("file_id IS NOT NULL"), postgresql_where=text("file_id IS NOT NULL")),
        Index("ix_tags_region_tag", "region_id", "tag"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(8))
    confidence: Mapped[float | None] = mapped_column(Float)
    ordinal: Mapped[int | None] = mapped_column(Integer)
    model_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    @validates("tag")
    def _normalise(self, _key: str, value: str) -> str:
        return normalise_tag(value)


def normalise_tag(text: str) -> str:
    """How tags are stored and matched: lower case, single spaces ("Warm  Pad" → "warm pad")."""
    return " ".join(text.split()).lower()


class RegionVector(Base):
    """An embedding of a region for similarity search (copied from the embeddings
    plugin's result by database.store). ``kind``: the result's key (``yamnet``,
    ``features``); ``model``: what produced it, with its version; ``vector``: float16
    little-endian bytes [dim], L2-normalised. ``id`` only grows, so an index knows what
    it has seen."""

    __tablename__ = "region_vectors"
    __table_args__ = (UniqueConstraint("region_id", "kind"), Index("ix_region_vectors_kind_id", "kind", "id"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class CategoryWeight(Base):
    """The library's weight of one sample pack category (a normalised tag), as last asked
    for (database.packs); weights need not sum to 1."""

    __tablename__ = "category_weights"
    __table_args__ = (CheckConstraint("weight >= 0", name="ck_category_weights_weight"),)

    tag: Mapped[str] = mapped_column(String(128), primary_key=True)
    weight: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class JobState:
    """Values of ``jobs.state``. ``interrupted``: the server stopped while it ran."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    ACTIVE = (QUEUED, RUNNING)


class Job(Base):
    """An analysis job of the API: the files to analyse and each one's outcome so far.

    paths: absolute paths, in order; outcomes: ``{path: {"status", "error_code", "error",
    "file_id"}}`` for the files finished.
    """

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    paths: Mapped[list[str]] = mapped_column(JsonType)
    plugins: Mapped[list[str] | None] = mapped_column(JsonType)
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    outcomes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
