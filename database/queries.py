"""Reading the database, and the stable JSON report of a file (DESIGN.md, "CLI JSON")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from database.models import File, Region, RegionAnalysis

#: Keys of an analysis entry in a report that plugin results may not use.
RESERVED_ANALYSIS_KEYS = ("status", "version", "elapsed_s", "error")


def get_file(session: Session, path: str) -> File | None:
    """The file stored at ``path`` with its regions, analyses and summary loaded."""
    return session.scalar(
        select(File)
        .where(File.path == path)
        .options(selectinload(File.regions).selectinload(Region.analyses), selectinload(File.summary))
    )


def file_report(file: File) -> dict[str, Any]:
    """The stable JSON object of one analysed file (``main.py analyze --json``)."""
    return {
        "id": file.id,
        "path": file.path,
        "name": file.name,
        "status": file.status,
        "error": file.error,
        "error_code": file.error_code,
        "duration_s": file.duration_s,
        "format": file.format,
        "codec": file.codec,
        "sample_rate": file.sample_rate,
        "channels": file.channels,
        "size_bytes": file.size_bytes,
        "content_hash": file.content_hash,
        "analyzed_at": file.analyzed_at.isoformat() if file.analyzed_at else None,
        "regions": [
            {
                "index": region.index,
                "start_s": round(region.start_s, 4),
                "end_s": round(region.end_s, 4),
                "duration_s": round(region.duration_s, 4),
                "analysis": {row.plugin: analysis_entry(row) for row in region.analyses},
            }
            for region in file.regions
        ],
        "summary": file.summary.summary if file.summary else {},
    }


def analysis_entry(row: RegionAnalysis) -> dict[str, Any]:
    """``{"status", "version", "elapsed_s", ["error"], **result}`` for one plugin outcome."""
    entry: dict[str, Any] = {"status": row.status, "version": row.plugin_version, "elapsed_s": round(row.elapsed_s, 4)}
    if row.error is not None:
        entry["error"] = row.error
    for key, value in (row.result or {}).items():
        if key not in RESERVED_ANALYSIS_KEYS:
            entry[key] = value
    return entry


def status_counts(session: Session) -> dict[str, int]:
    """Number of files per status."""
    rows = session.execute(select(File.status, func.count()).group_by(File.status))
    return {status: count for status, count in rows}


def totals(session: Session) -> dict[str, Any]:
    """Counts of files, regions and analyses, and the seconds of audio stored."""
    return {
        "files": session.scalar(select(func.count()).select_from(File)) or 0,
        "regions": session.scalar(select(func.count()).select_from(Region)) or 0,
        "analyses": session.scalar(select(func.count()).select_from(RegionAnalysis)) or 0,
        "audio_s": float(session.scalar(select(func.coalesce(func.sum(File.duration_s), 0.0))) or 0.0),
        "files_by_status": status_counts(session),
    }
