"""``POST /api/export``: regions rendered as samples (core.exporter, in the sandbox) and
answered as one ZIP archive: the samples, manifest.json and manifest.csv."""

from __future__ import annotations

import shutil
import uuid
import zipfile
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.schemas import ErrorResponse
from core.engine import AudioSamplerEngine
from core.export import ExportError, ExportOptions
from core.exporter import export_regions

router = APIRouter(tags=["export"])
ZIP = {200: {"content": {"application/zip": {}}, "description": "The samples with manifest.json and manifest.csv"}}
ERRORS = {400: {"model": ErrorResponse}}


class ExportSettings(BaseModel):
    """How each region is rendered (see core.export.ExportOptions)."""

    format: Literal["wav", "flac", "mp3"] = "wav"
    normalise: Literal["none", "peak", "lufs"] = "none"
    peak_dbfs: float = Field(-1.0, ge=-60, le=0, description="Peak level of peak normalisation, dBFS")
    lufs: float = Field(-14.0, ge=-70, le=0, description="Integrated loudness of LUFS normalisation")
    fade_in_ms: float = Field(0.0, ge=0, le=60_000)
    fade_out_ms: float = Field(0.0, ge=0, le=60_000)
    target_bpm: float | None = Field(None, ge=20, le=400, description="Time-stretch regions with a tempo to this")
    target_key: str | None = Field(None, max_length=16, description='Pitch-shift to this key ("C minor", "5A")')
    template: str = Field("{name}_{bpm}bpm_{key}_{index}", min_length=1, max_length=200,
                          description="File names; fields: name bpm key index region id content tag")

    def options(self) -> ExportOptions:
        """Raises ExportError (an unknown key)."""
        values = self.model_dump(include=set(ExportSettings.model_fields))
        return ExportOptions(fmt=values.pop("format"), **values)


class ExportRequest(ExportSettings):
    region_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(
        min_length=1, max_length=1000, description="Regions, in the order wanted")


def export_zip(engine: AudioSamplerEngine, region_ids: list[int], settings: ExportSettings, name: str,
               extra: dict[str, Any] | None = None) -> FileResponse:
    """Render ``region_ids`` into a scratch folder and answer them zipped (the scratch
    folder and the archive are deleted once sent). Raises HTTPException 400."""
    scratch = engine.settings.tmp_dir / f"export-{uuid.uuid4().hex}"
    try:
        result = export_regions(engine.database, engine.sandbox, region_ids, scratch / name, settings.options(),
                                engine.settings.max_duration_s, extra)
        archive = scratch / f"{name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as bundle:
            for path in sorted(result.folder.iterdir()):
                bundle.write(path, f"{name}/{path.name}")
    except ExportError as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return FileResponse(archive, media_type="application/zip", filename=archive.name,
                        headers={"X-Exported": str(len(result.items) - result.failed), "X-Failed": str(result.failed)},
                        background=BackgroundTask(shutil.rmtree, scratch, ignore_errors=True))


@router.post("/api/export", response_class=FileResponse, responses={**ZIP, **ERRORS})
async def export(request: ExportRequest, engine: EngineDep) -> FileResponse:
    """Regions as ready-to-use samples (cut, optionally stretched, shifted, faded and
    normalised) in a ZIP with a CSV and JSON manifest of their analysis. A region that
    cannot be rendered is listed in the manifest with its error (``X-Failed`` counts them)."""
    return await run_in_threadpool(export_zip, engine, request.region_ids, request, "export")
