"""Dependencies shared by the routers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi import Path as PathParameter

from api.jobs import JobManager
from api.paths import PathNotAllowed, confine
from core.config import Settings
from core.engine import AudioSamplerEngine
from database.vector_index import VectorIndexes


def get_engine(request: Request) -> AudioSamplerEngine:
    return request.app.state.engine


def get_jobs(request: Request) -> JobManager:
    return request.app.state.jobs


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_indexes(request: Request) -> VectorIndexes:
    return request.app.state.indexes


def confined(text: str, settings: Settings) -> Path:
    """``text`` as a real path inside the allowed roots, or a 403 saying why not."""
    try:
        return confine(text, settings.allowed_roots)
    except PathNotAllowed as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from exc


#: A row id in a path: positive, and within the database's 32-bit integer ids.
RowId = Annotated[int, PathParameter(ge=1, le=2**31 - 1, description="An id as the API returns it")]

EngineDep = Annotated[AudioSamplerEngine, Depends(get_engine)]
JobsDep = Annotated[JobManager, Depends(get_jobs)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
IndexesDep = Annotated[VectorIndexes, Depends(get_indexes)]
