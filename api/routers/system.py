"""``GET /``, ``/health``, ``/status``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.schemas import EngineStatus, Health, RootInfo
from core import __version__

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
