"""Pydantic models of requests and responses, so ``/docs`` describes the real API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorResponse(BaseModel):
    error: str


class RootInfo(BaseModel):
    name: str
    version: str
    docs: str
    endpoints: list[str]


class Health(BaseModel):
    status: str


class SandboxStatus(BaseModel):
    workers: int
    alive: int
    idle: int
    starts: int
    calls: int
    failures: dict[str, int]


class DatabaseStatus(BaseModel):
    url: str
    files: int
    regions: int
    analyses: int
    audio_s: float
    files_by_status: dict[str, int]


class BridgeStatus(BaseModel):
    environment: str = Field(description="Folder of the experimental (Essentia) environment")
    present: bool
    available: bool | None = Field(description="Its worker started and answered; null while that is being "
                                                "checked (reason: being checked)")
    versions: dict[str, str]
    reason: str | None = Field(description="Why it is unavailable")


class UnrecordedError(BaseModel):
    at: str = Field(description="When, ISO 8601 (UTC)")
    path: str
    error_code: str = Field(description="storage_error (a full or read-only disk or database), internal_error "
                                        "or invalid_name")
    error: str


class EngineStatus(BaseModel):
    status: str
    version: str
    plugins: list[str]
    sandbox: SandboxStatus
    bridge: BridgeStatus
    musicnn: BridgeStatus | None = Field(description="The experimental environment's musicnn worker (the classifier's "
                                         "musicnn tags), checked in the background from the first /status on; null "
                                         "when the classifier is not in the chain")
    database: DatabaseStatus
    unrecorded_errors: list[UnrecordedError] = Field(
        description="The latest errors the database does not hold (it could not be written, or they are not "
                    "about a stored file), oldest first")


class PluginInfo(BaseModel):
    name: str
    version: str
    requires: list[str]
    timeout_s: float
    memory_mb: int
    min_duration_s: float
    description: str


class AnalyzeRequest(BaseModel):
    file_path: str = Field(description="Path of an audio file on the server's machine")
    plugins: list[str] | None = Field(None, description="Plugins to run (default: all)")
    force: bool = Field(False, description="Re-analyse even when the file is unchanged")


class RegionReport(BaseModel):
    index: int
    start_s: float
    end_s: float
    duration_s: float
    analysis: dict[str, dict[str, Any]] = Field(
        description="Per plugin: status (ok|error|timeout|crashed|oom|not_applicable|skipped), "
        "version, elapsed_s, error when not ok, and the plugin's result fields"
    )


class FileReport(BaseModel):
    id: int | None
    path: str
    name: str
    status: str = Field(description="ok | error")
    error: str | None
    error_code: str | None
    duration_s: float | None
    format: str | None = None
    codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    size_bytes: int | None = None
    content_hash: str | None = None
    analyzed_at: str | None = None
    regions: list[RegionReport]
    summary: dict[str, Any]


class TagItem(BaseModel):
    tag: str
    probability: float | None = Field(description="The model's probability; None for a person's tag or a rule's")
    source: str = Field(description="user | model")


class RegionItem(BaseModel):
    """A region as a list shows it."""

    id: int
    file_id: int
    path: str
    name: str = Field(description="The file's name")
    index: int = Field(description="Position of the region in its file, from 0")
    start_s: float
    end_s: float
    duration_s: float
    bpm: float | None
    key: str | None = Field(description='e.g. "A minor"')
    camelot: str | None = Field(description='Camelot code, e.g. "8A"')
    loudness_lufs: float | None
    content: str | None = Field(description="speech | music | noise | silence | mixed")
    tags: list[TagItem] = Field(description="Its tags: a person's first, then the most probable (at most 5 in lists)")


class SimilarItem(RegionItem):
    score: float = Field(description="Cosine similarity to the region asked about, -1 … 1")
    same_audio: bool = Field(False, description="The same recording as the region asked about (its audio "
                             "fingerprint agrees), in another file, format or gain: such regions come first")


class SimilarPage(BaseModel):
    kind: str = Field(description="The vectors compared: yamnet | features")
    items: list[SimilarItem] = Field(description="Most similar first")


class RegionPage(BaseModel):
    total: int = Field(description="Regions matching, over all pages (see total_exact)")
    total_exact: bool = Field(True, description="Whether total is the exact number of matches; when false, there "
                                                "are more (a search stops counting 10 000 past its page's offset)")
    items: list[RegionItem]


class FileItem(BaseModel):
    """A file as a list shows it."""

    id: int
    path: str
    name: str
    duration_s: float | None
    format: str | None
    matching_regions: int = Field(description="Regions of this file that match the search")
    summary: dict[str, Any]


class FilePage(BaseModel):
    total: int = Field(description="Files matching, over all pages")
    items: list[FileItem]


class LibraryStats(BaseModel):
    files: int
    regions: int
    analyses: int
    audio_s: float = Field(description="Seconds of audio in all stored files")
    files_by_status: dict[str, int]
    analyses_by_plugin: dict[str, dict[str, int]] = Field(description="Per plugin: outcome → count")


class JobRequest(BaseModel):
    paths: list[str] = Field(min_length=1, description="Files and folders inside the library roots")
    plugins: list[str] | None = Field(None, description="Plugins to run (default: all)")
    force: bool = Field(False, description="Re-analyse files even when unchanged")


class JobCreated(BaseModel):
    job_id: str
    files: int = Field(description="Audio files the job will analyse")


class JobFile(BaseModel):
    path: str
    stage: str | None = Field(None, description="hashing | decoding | analysing | storing | done | skipped")
    done: int | None = Field(None, description="Plugin calls finished for this file")
    total: int | None = Field(None, description="Plugin calls planned for this file")
    status: str | None = Field(None, description="ok | error, once the file is finished")
    error_code: str | None = None
    error: str | None = None
    file_id: int | None = None
    regions: int | None = None


class JobStatus(BaseModel):
    id: str
    state: str = Field(description="queued | running | done | cancelled | interrupted")
    created_at: str
    updated_at: str
    total_files: int
    finished_files: int
    files: list[JobFile]


class RegionDetail(RegionItem):
    peaks: dict[str, Any] | None = Field(description="The region's own min/max peaks (core.waveform layout); null "
                                         "when none are stored (a region written by another tool)")
    analysis: dict[str, dict[str, Any]] = Field(description="Per plugin: status, version, elapsed_s, error, result")


class WaveformPeaks(BaseModel):
    sample_rate: int
    samples_per_pixel: int
    length: int
    min: list[float]
    max: list[float]


class Resources(BaseModel):
    cpu_percent: float = Field(description="Whole machine, since the previous call")
    cpu_count: int
    memory_total_mb: float
    memory_available_mb: float
    server_rss_mb: float = Field(description="This server process (workers not included)")
    disk_free_mb: float = Field(description="Free space where the data folder is")
    data_dir: str
    workers: dict[str, Any]
    active_jobs: int


class CleanupReport(BaseModel):
    temp_files: int = Field(description="Decoded audio left by processes that are gone")
    partial_uploads: int = Field(description="Uploads cut off more than an hour ago")
    empty_folders: int
