"""Writing one file's analysis. Callers run these inside one transaction per file
(:meth:`database.session.Database.session`), so a killed process leaves the whole
file or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from database.models import File, FileStatus, FileSummary, Region, RegionAnalysis, Waveform

#: Region column ← (plugin, result key): the facets search filters and sorts on.
FACETS = {
    "bpm": ("tempo_meter", "bpm"),
    "key": ("key_finder", "key"),
    "loudness_lufs": ("features", "loudness_lufs"),
    "content": ("content", "label"),
}


@dataclass(frozen=True)
class AnalysisRecord:
    """One plugin outcome. status: a core.sandbox.Outcome value; elapsed_s: seconds."""

    plugin: str
    version: str
    status: str
    result: dict[str, Any] | None = None
    error: str | None = None
    elapsed_s: float = 0.0


@dataclass
class RegionRecord:
    """A region to store. start_s, end_s: seconds; peaks: core.waveform dict."""

    index: int
    start_s: float
    end_s: float
    peaks: dict[str, Any]
    analyses: list[AnalysisRecord] = field(default_factory=list)


@dataclass(frozen=True)
class FileFacts:
    """What is known of a file before analysis: identity and (if probed) its header."""

    path: str
    content_hash: str
    size_bytes: int
    info: dict[str, Any] | None = None


def replace_file(
    session: Session,
    facts: FileFacts,
    *,
    error_code: str | None = None,
    error: str | None = None,
    regions: list[RegionRecord] = (),  # type: ignore[assignment]
    waveform: dict[str, dict] | None = None,
) -> File:
    """Store ``facts`` as the file at its path, replacing any earlier row and its children.

    With ``error`` the file is stored with status ``error`` and no regions.
    """
    existing = session.scalar(select(File).where(File.path == facts.path))
    if existing is not None:
        session.delete(existing)
        session.flush()
    info = facts.info or {}
    file = File(
        path=facts.path,
        name=Path(facts.path).name,
        content_hash=facts.content_hash,
        size_bytes=facts.size_bytes,
        format=info.get("format"),
        codec=info.get("codec"),
        sample_rate=info.get("sample_rate"),
        channels=info.get("channels"),
        duration_s=info.get("duration_s"),
        status=FileStatus.ERROR if error else FileStatus.OK,
        error_code=error_code,
        error=error,
    )
    session.add(file)
    for record in regions:
        region = Region(
            index=record.index,
            start_s=record.start_s,
            end_s=record.end_s,
            duration_s=record.end_s - record.start_s,
            peaks=record.peaks,
            analyses=[_analysis_row(a) for a in record.analyses],
        )
        set_facets(region)
        file.regions.append(region)
    if waveform is not None:
        file.waveform = Waveform(overview=waveform["overview"], zoom=waveform["zoom"])
    session.flush()
    return file


def upsert_analyses(region: Region, analyses: list[AnalysisRecord]) -> None:
    """Add the analyses to ``region``, replacing earlier ones of the same plugins."""
    current = {row.plugin: row for row in region.analyses}
    for record in analyses:
        row = current.get(record.plugin)
        if row is None:
            region.analyses.append(_analysis_row(record))
            continue
        row.plugin_version = record.version
        row.status = record.status
        row.result = record.result
        row.error = record.error
        row.elapsed_s = record.elapsed_s
    set_facets(region)


def set_facets(region: Region) -> None:
    """Copy the FACETS of the region's successful analyses into its columns."""
    results = {row.plugin: row.result or {} for row in region.analyses if row.status == "ok"}
    for column, (plugin, key) in FACETS.items():
        setattr(region, column, results.get(plugin, {}).get(key))


def set_summary(session: Session, file: File, summary: dict[str, Any]) -> None:
    if file.summary is None:
        file.summary = FileSummary(summary=summary)
    else:
        file.summary.summary = summary
    session.flush()


def _analysis_row(record: AnalysisRecord) -> RegionAnalysis:
    return RegionAnalysis(
        plugin=record.plugin,
        plugin_version=record.version,
        status=record.status,
        result=record.result,
        error=record.error,
        elapsed_s=record.elapsed_s,
    )
