"""Writing one file's analysis. Callers run these inside one transaction per file
(:meth:`database.session.Database.session`), so a killed process leaves the whole
file or nothing."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from database.models import (
    File,
    FileStatus,
    FileSummary,
    Region,
    RegionAnalysis,
    RegionVector,
    Tag,
    TagSource,
    Waveform,
    normalise_tag,
)

#: Region column ← (plugin, result key): the facets search filters and sorts on.
FACETS = {
    "bpm": ("tempo_meter", "bpm"),
    "key": ("key_finder", "key"),
    "loudness_lufs": ("features", "loudness_lufs"),
    "content": ("content", "label"),
}
#: The plugin whose tags become the region's model tags, and the one whose vectors are indexed.
TAGGING_PLUGIN = "classifier"
EMBEDDING_PLUGIN = "embeddings"
#: Tag of a classifier ``sample_type``.
SAMPLE_TYPE_TAGS = {"one_shot": "one-shot", "loop": "loop"}


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
            file_name=file.name,
            index=record.index,
            start_s=record.start_s,
            end_s=record.end_s,
            duration_s=record.end_s - record.start_s,
            peaks=record.peaks,
            analyses=[_analysis_row(a) for a in record.analyses],
        )
        set_derived(region)
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
    set_derived(region)


def set_derived(region: Region) -> None:
    """Bring what is copied out of the region's successful analyses up to date: the
    FACETS columns, its classifier tags (the user's tags and trained taggers' are kept)
    and its vectors."""
    ok = {row.plugin: row for row in region.analyses if row.status == "ok"}
    for column, (plugin, key) in FACETS.items():
        setattr(region, column, (ok[plugin].result or {}).get(key) if plugin in ok else None)
    tagger = ok.get(TAGGING_PLUGIN)
    wanted = model_tags(tagger.result or {}, tagger.plugin_version) if tagger else {}
    ordinals = {name: ordinal for ordinal, name in enumerate(wanted)}
    for tag in [t for t in region.tags if t.source == TagSource.MODEL]:
        if tag.tag in wanted:  # the classifier's tag (or another model's of that name, which it takes over)
            tag.confidence, tag.model_version = wanted.pop(tag.tag)
            tag.ordinal = ordinals[tag.tag]
        elif tag.model_version is None or tag.model_version.startswith(f"{TAGGING_PLUGIN} "):
            region.tags.remove(tag)  # a trained tagger's tags (core.taggers) stay
    region.tags.extend(Tag(tag=name, source=TagSource.MODEL, confidence=confidence, model_version=version,
                           ordinal=ordinals[name]) for name, (confidence, version) in wanted.items())
    embedder = ok.get(EMBEDDING_PLUGIN)
    wanted_vectors = {(v.kind, v.model, v.vector): v for v in vectors(embedder.result or {})} if embedder else {}
    stale = [v for v in region.vectors if wanted_vectors.pop((v.kind, v.model, v.vector), None) is None]
    for vector in stale:
        region.vectors.remove(vector)
    session = object_session(region)
    if stale and session is not None:
        session.flush()  # a changed vector is a new row (a new id, which an index sees as new)
    region.vectors.extend(wanted_vectors.values())


def model_tags(result: dict[str, Any], version: str) -> dict[str, tuple[float | None, str]]:
    """A classifier result's tags, in its order: normalised tag → (probability or None,
    model version).

    ``one-shot`` / ``loop`` (a rule, so no probability), the drum type with the head's
    probability, then the AudioSet and musicnn tags with theirs as the classifier ranks
    them (a tag named twice takes the place of its first)."""
    found: dict[str, tuple[float | None, str]] = {}

    def add(name: str, confidence: float | None, source: str) -> None:
        name = normalise_tag(name)
        if name not in found or (confidence or 0.0) > (found[name][0] or 0.0):
            found[name] = (confidence, f"{TAGGING_PLUGIN} {version} ({source})"[:64])

    if result.get("sample_type") in SAMPLE_TYPE_TAGS:
        add(SAMPLE_TYPE_TAGS[result["sample_type"]], None, "sample type")
    drum = result.get("drum_type")
    if drum and drum != "other":
        add(drum, (result.get("drum_probabilities") or {}).get(drum), "drum head")
    for entry in result.get("tags") or []:
        add(entry["tag"], entry.get("probability"), entry.get("source", "model"))
    return found


#: Bytes a value of each stored vector type (float16 embeddings, uint8 fingerprints).
VECTOR_DTYPES = {"float16": 2, "uint8": 1}


def vectors(result: dict[str, Any]) -> list[RegionVector]:
    """The vectors of an embeddings result (entries with ``"vector"``), as rows to store."""
    rows = []
    for kind, entry in result.items():
        if isinstance(entry, dict) and entry.get("encoding") == "base64" and entry.get("dtype") in VECTOR_DTYPES:
            raw = base64.b64decode(entry["vector"])
            rows.append(RegionVector(kind=kind, model=str(entry.get("model", kind))[:64],
                                     dim=len(raw) // VECTOR_DTYPES[entry["dtype"]], vector=raw))
    return rows


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
