"""``POST /analyze``: analyse one file on the server's disk and return its report."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep, SettingsDep, confined
from api.schemas import AnalyzeRequest, ErrorResponse, FileReport
from core.plugin import PluginError

router = APIRouter(tags=["analysis"])


@router.post("/analyze", response_model=FileReport,
             responses={400: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
                        404: {"model": ErrorResponse}})
async def analyze(body: AnalyzeRequest, engine: EngineDep, settings: SettingsDep) -> FileReport:
    """Analyse ``file_path`` (inside the library roots) and wait for its report. A file
    that cannot be decoded is still a 200 with ``status: "error"`` and the reason: it is
    recorded like any other result. Long files are better sent as a job (``/api/jobs``)."""
    path = confined(body.file_path, settings)
    try:
        engine.select_plugins(body.plugins)
    except PluginError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    report = await run_in_threadpool(engine.analyze_file, path, body.plugins, body.force)
    if report["error_code"] == "not_found":
        raise HTTPException(status_code=404, detail=f"{body.file_path}: {report['error']}")
    return FileReport(**report)
