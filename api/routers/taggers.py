"""Trainable taggers (core.taggers): ``GET /api/taggers/health`` (the data before
training), ``POST /api/taggers/{name}/train``, ``POST /api/taggers/{name}/scan``,
``GET /api/taggers/{name}/report`` and its confusion matrix image. Training and scanning
read stored vectors only (no audio is decoded), so they run in the server process."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParameter
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.schemas import ErrorResponse
from core import taggers
from core.engine import AudioSamplerEngine

router = APIRouter(tags=["taggers"])
ERRORS = {code: {"model": ErrorResponse} for code in (400, 404)}
Name = Annotated[str, PathParameter(pattern=f"^{taggers.NAME.pattern}$", description="The tagger's name")]
Kind = Literal["yamnet", "yamnet_layers", "features"]


class TrainRequest(BaseModel):
    classes: list[str] = Field(min_length=2, max_length=100, description="The tags to learn")
    kind: Kind = Field("yamnet", description="The stored vectors used")
    negatives: list[str] | None = Field(None, max_length=100,
                                        description="Tags of regions of none of the classes (default: any other)")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    strict: bool = Field(False, description="Refuse (400) when a readiness gate fails")


class ScanRequest(BaseModel):
    threshold: float | None = Field(None, ge=0, le=1, description="Least probability of a class (default: its own)")


def _folder(engine: AudioSamplerEngine) -> Path:
    return engine.settings.data_dir / "taggers"


def _call(function, *args) -> Any:
    try:
        return function(*args)
    except ValueError as exc:  # TaggerError, InvalidTag
        status = 404 if str(exc).startswith("no tagger named") else 400
        raise HTTPException(status_code=status, detail=str(exc)) from exc


@router.get("/api/taggers/health", responses=ERRORS)
async def health(engine: EngineDep, classes: Annotated[list[str], Query(min_length=1, max_length=100)],
                 kind: Kind = "yamnet",
                 negatives: Annotated[list[str], Query(max_length=100, description="Default: any other tag")] = [],  # noqa: B006
                 ) -> dict[str, Any]:
    """Before training: examples per class (regions with one of them and a vector), the
    readiness gates, the negatives and the regions left out for carrying two classes."""
    return await run_in_threadpool(_call, taggers.health, engine.database, classes, kind, negatives or None)


@router.post("/api/taggers/{name}/train", responses=ERRORS)
async def train(name: Name, request: TrainRequest, engine: EngineDep) -> dict[str, Any]:
    """Train (or retrain) the tagger; answers its health report (held-out metrics with
    confidence intervals, confusion matrix, open-set threshold, AUROC, FPR at 95 % TPR)."""
    def run() -> dict[str, Any]:
        if request.strict:
            before = _call(taggers.health, engine.database, request.classes, request.kind, request.negatives)
            failed = [gate["detail"] for gate in before["gates"] if not gate["passed"]]
            if failed:
                raise HTTPException(status_code=400, detail="a readiness gate failed: " + "; ".join(failed))
        return _call(taggers.train, engine.database, _folder(engine), name, request.classes, request.kind,
                     request.negatives, request.seed)

    return await run_in_threadpool(run)


@router.post("/api/taggers/{name}/scan", responses=ERRORS)
async def scan(name: Name, request: ScanRequest, engine: EngineDep) -> dict[str, Any]:
    """Label every region without a user tag of the tagger's classes (unknown: no tag)."""
    return await run_in_threadpool(_call, taggers.scan, engine.database, _folder(engine), name, request.threshold)


@router.get("/api/taggers/{name}/report", responses=ERRORS)
async def report(name: Name, engine: EngineDep) -> dict[str, Any]:
    """The health report saved when the tagger was last trained."""
    return await run_in_threadpool(_call, taggers.saved_report, _folder(engine), name)


@router.get("/api/taggers/{name}/confusion.png", response_class=FileResponse,
            responses={**ERRORS, 200: {"content": {"image/png": {}}}})
async def confusion(name: Name, engine: EngineDep) -> FileResponse:
    """The held-out confusion matrix of the tagger's last training, as a PNG."""
    saved = await run_in_threadpool(_call, taggers.saved_report, _folder(engine), name)
    return FileResponse(saved["plot"], media_type="image/png")
