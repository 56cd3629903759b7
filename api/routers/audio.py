"""Serving audio: a file as stored (``/api/audio/{file_id}``), a region cut out as WAV or
FLAC (``/api/regions/{id}/audio``), and any file of the library in a format every
browser plays (``/api/processed_audio/{path}``). All support HTTP Range for seeking.
Excerpts are decoded in the sandbox and cached (core.excerpt_cache)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep, RowId, SettingsDep, confined
from api.schemas import ErrorResponse
from core.engine import AudioSamplerEngine
from core.excerpt import MEDIA_TYPES
from core.excerpt_cache import ExcerptFailed
from database.models import File, Region

router = APIRouter(tags=["audio"])
AUDIO = {200: {"content": {"audio/*": {}}}}
ERRORS = {code: {"model": ErrorResponse} for code in (400, 403, 404, 422)}
FormatQuery = Annotated[Literal["wav", "flac"], Query(description="wav (24-bit PCM) or flac")]


@router.get("/api/audio/{file_id}", response_class=FileResponse, responses={**AUDIO, **ERRORS})
async def audio(file_id: RowId, engine: EngineDep) -> FileResponse:
    """The original audio of an analysed file; supports HTTP Range so players can seek."""
    def locate() -> Path | None:
        with engine.database.session() as session:
            file = session.get(File, file_id)
            return Path(file.path) if file is not None else None

    path = await run_in_threadpool(locate)
    if path is None:
        raise HTTPException(status_code=404, detail=f"no file with id {file_id}")
    if not path.is_file():
        raise HTTPException(status_code=404, detail=f"{path.name} is no longer on disk")
    return FileResponse(path, filename=path.name)


@router.get("/api/regions/{region_id}/audio", response_class=FileResponse, responses={**AUDIO, **ERRORS})
async def region_audio(region_id: RowId, engine: EngineDep, format: FormatQuery = "wav") -> FileResponse:
    """The region cut out of its file, at the file's own sample rate (at most stereo):
    to download, or to drag into a DAW."""
    def locate() -> tuple[Path, float, float, str] | None:
        with engine.database.session() as session:
            region = session.get(Region, region_id)
            if region is None:
                return None
            return Path(region.file.path), region.start_s, region.end_s, f"{Path(region.file.name).stem}_" \
                f"region{region.index + 1:02d}.{format}"

    found = await run_in_threadpool(locate)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no region with id {region_id}")
    path, start_s, end_s, name = found
    return await _excerpt(engine, path, start_s, end_s, format, name)


@router.get("/api/processed_audio/{path:path}", response_class=FileResponse, responses={**AUDIO, **ERRORS})
async def processed_audio(path: str, engine: EngineDep, settings: SettingsDep, format: FormatQuery = "wav",
                          start_s: Annotated[float, Query(ge=0, allow_inf_nan=False, description="From, s")] = 0.0,
                          end_s: Annotated[float | None, Query(gt=0, allow_inf_nan=False,
                                                               description="To, s (default: the end)")] = None,
                          ) -> FileResponse:
    """Any audio file inside the library roots (AIFF, WMA, … included), decoded and served
    as WAV or FLAC so that every browser plays it; optionally only ``start_s``–``end_s``."""
    source = confined("/" + path.lstrip("/"), settings)
    if not source.is_file():
        raise HTTPException(status_code=404, detail=f"no file at {source}")
    if end_s is not None and end_s <= start_s:
        raise HTTPException(status_code=400, detail="end_s must be after start_s")
    return await _excerpt(engine, source, start_s, end_s, format, f"{source.stem}.{format}")


async def _excerpt(engine: AudioSamplerEngine, path: Path, start_s: float, end_s: float | None, fmt: str,
                   name: str) -> FileResponse:
    try:
        rendered = await run_in_threadpool(engine.excerpts.get, path, start_s, end_s, fmt)
    except FileNotFoundError as exc:
        raise HTTPException(status_code=404, detail=f"{path.name} is no longer on disk") from exc
    except ExcerptFailed as exc:
        raise HTTPException(status_code=400 if exc.bad_request else 422, detail=str(exc)) from exc
    return FileResponse(rendered, media_type=MEDIA_TYPES[fmt], filename=name)
