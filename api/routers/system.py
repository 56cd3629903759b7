"""``GET /``, ``/health``, ``/status``, ``/api/system/resources``, ``POST /api/system/cleanup``."""

from __future__ import annotations

import shutil
import time

import psutil
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep, JobsDep, SettingsDep
from api.schemas import CleanupReport, EngineStatus, Health, Resources, RootInfo
from core import __version__
from core.pcm import remove_stale

#: Uploads still ``.part`` after this long were cut off, seconds.
PARTIAL_UPLOAD_AGE_S = 3600.0
_MB = 1 << 20

router = APIRouter(tags=["system"])


@router.get("/", response_model=RootInfo)
def root(request: Request) -> RootInfo:
    paths = sorted(request.app.openapi()["paths"])
    return RootInfo(name="Audio sampler engine", version=__version__, docs="/docs", endpoints=paths)


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Answers as soon as the server accepts requests; touches nothing else."""
    return Health(status="ok")


@router.get("/status", response_model=EngineStatus)
async def status(engine: EngineDep) -> EngineStatus:
    state = await run_in_threadpool(engine.status)
    return EngineStatus(status="ok", version=__version__, **state)


@router.get("/api/system/resources", response_model=Resources)
async def resources(engine: EngineDep, jobs: JobsDep, settings: SettingsDep) -> Resources:
    """CPU, memory and disk of the machine, the worker processes and the jobs running."""
    memory = psutil.virtual_memory()
    return Resources(
        cpu_percent=psutil.cpu_percent(interval=None), cpu_count=psutil.cpu_count() or 1,
        memory_total_mb=memory.total / _MB, memory_available_mb=memory.available / _MB,
        server_rss_mb=psutil.Process().memory_info().rss / _MB,
        disk_free_mb=shutil.disk_usage(settings.data_dir).free / _MB, data_dir=str(settings.data_dir),
        workers=engine.sandbox.status(), active_jobs=jobs.active())


@router.post("/api/system/cleanup", response_model=CleanupReport)
async def cleanup(settings: SettingsDep) -> CleanupReport:
    """Remove what interrupted work left: decoded audio of processes that are gone,
    uploads cut off an hour ago or more, and upload folders empty for as long. Analysed files and
    their uploads are kept."""
    def clean() -> CleanupReport:
        cutoff = time.time() - PARTIAL_UPLOAD_AGE_S
        partial = [p for p in settings.upload_dir.glob("*/*.part") if p.stat().st_mtime < cutoff]
        for path in partial:
            path.unlink(missing_ok=True)
        empty = [d for d in settings.upload_dir.iterdir()
                 if d.is_dir() and d.stat().st_mtime < cutoff and not any(d.iterdir())]
        for folder in empty:
            folder.rmdir()
        return CleanupReport(temp_files=remove_stale(settings.tmp_dir), partial_uploads=len(partial),
                             empty_folders=len(empty))

    return await run_in_threadpool(clean)
