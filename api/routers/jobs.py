"""Analysis jobs and uploads: ``POST /api/jobs``, ``POST /api/analyze/upload``,
``GET /api/jobs[/{id}]``, ``GET /api/jobs/{id}/events`` (Server-Sent Events),
``DELETE /api/jobs/{id}`` and ``POST /api/jobs/{id}/resume``."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import JobsDep, SettingsDep, confined
from api.jobs import QueueFull
from api.schemas import ErrorResponse, JobCreated, JobRequest, JobStatus
from api.uploads import OPENAPI_BODY, UploadLimits, boundary_of, receive_files

router = APIRouter(tags=["jobs"])
NOT_FOUND = {404: {"model": ErrorResponse}}
BUSY = {429: {"model": ErrorResponse, "description": "Too many jobs are waiting (see Retry-After)"}}
#: Seconds a client is told to wait when the job queue is full.
RETRY_AFTER_S = 30
_EVENT_POLL_S = 0.2


@router.post("/api/jobs", response_model=JobCreated, status_code=202,
             responses={403: {"model": ErrorResponse}, **BUSY, 503: {"model": ErrorResponse},
                        507: {"model": ErrorResponse}})
async def create_job(request: Request, body: JobRequest, jobs: JobsDep, settings: SettingsDep) -> JobCreated:
    """Analyse files and folders (recursively) on the server's disk in the background."""
    paths = [str(confined(p, settings)) for p in body.paths]
    request.state.about = paths  # for a storage error (see api.app)
    with _room():
        job_id = await run_in_threadpool(jobs.submit, paths, body.plugins, body.force, settings.allowed_roots)
    return JobCreated(job_id=job_id, files=(await run_in_threadpool(jobs.get, job_id))["total_files"])


@router.post("/api/analyze/upload", response_model=JobCreated, status_code=202,
             responses={400: {"model": ErrorResponse}, 413: {"model": ErrorResponse}, **BUSY,
                        503: {"model": ErrorResponse}, 507: {"model": ErrorResponse}},
             openapi_extra={"requestBody": OPENAPI_BODY})
async def upload(request: Request, jobs: JobsDep, settings: SettingsDep) -> JobCreated:
    """Store uploaded files (each under the size limit, with an audio extension) and
    analyse them as one job."""
    # the body is read here, as it arrives, not by FastAPI: see api.uploads
    limits = UploadLimits(settings.max_upload_mb)
    boundary = boundary_of(request, limits)
    with _room():  # refused before anything is read
        jobs.check_room()
    request.state.about = names = []  # the files' names, for a storage error (see api.app)
    folder = settings.upload_dir / uuid.uuid4().hex
    try:
        paths = await receive_files(request, boundary, folder, limits, names)
        with _room():
            job_id = await run_in_threadpool(jobs.submit, [str(path) for path in paths])
    except BaseException:  # nothing kept without a job that analyses it
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return JobCreated(job_id=job_id, files=len(paths))


@router.get("/api/jobs", response_model=list[JobStatus])
async def list_jobs(jobs: JobsDep) -> list[JobStatus]:
    """The most recent jobs first."""
    return [JobStatus(**job) for job in await run_in_threadpool(jobs.recent)]


@router.get("/api/jobs/{job_id}", response_model=JobStatus, responses=NOT_FOUND)
async def job_status(job_id: str, jobs: JobsDep) -> JobStatus:
    return JobStatus(**_found(await run_in_threadpool(jobs.get, job_id), job_id))


@router.get("/api/jobs/{job_id}/events", responses=NOT_FOUND,
            response_class=StreamingResponse)
async def job_events(job_id: str, jobs: JobsDep) -> StreamingResponse:
    """Server-Sent Events: ``state``, ``progress`` (a file's stage and plugin calls done /
    planned) and ``file`` (a finished file's outcome), until the job ends."""
    _found(await run_in_threadpool(jobs.get, job_id), job_id)

    async def stream() -> AsyncIterator[str]:
        sent = 0
        while True:
            events, finished = jobs.events_since(job_id, sent)
            for event in events:
                yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
            sent += len(events)
            if finished and not events:
                state = (await run_in_threadpool(jobs.get, job_id))["state"]
                yield f"event: end\ndata: {json.dumps({'type': 'end', 'state': state})}\n\n"
                return
            await asyncio.sleep(_EVENT_POLL_S)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.delete("/api/jobs/{job_id}", response_model=JobStatus, responses={**NOT_FOUND, 409: {"model": ErrorResponse}})
async def cancel_job(job_id: str, jobs: JobsDep) -> JobStatus:
    """Cancel a job: files not started are dropped, files in progress are finished."""
    job = _found(await run_in_threadpool(jobs.get, job_id), job_id)
    if not jobs.cancel(job_id):
        raise HTTPException(status_code=409, detail=f"job {job_id} is {job['state']}: nothing to cancel")
    return JobStatus(**await run_in_threadpool(jobs.get, job_id))


@router.post("/api/jobs/{job_id}/resume", response_model=JobStatus,
             responses={**NOT_FOUND, 409: {"model": ErrorResponse}, **BUSY})
async def resume_job(job_id: str, jobs: JobsDep) -> JobStatus:
    """Run an interrupted or cancelled job's remaining files."""
    job = _found(await run_in_threadpool(jobs.get, job_id), job_id)
    with _room():
        resumed = await run_in_threadpool(jobs.resume, job_id)
    if not resumed:
        raise HTTPException(status_code=409, detail=f"job {job_id} is {job['state']}: only interrupted or "
                            "cancelled jobs can be resumed")
    return JobStatus(**await run_in_threadpool(jobs.get, job_id))


@contextmanager
def _room() -> Iterator[None]:
    """QueueFull as a 429 with Retry-After."""
    try:
        yield
    except QueueFull as exc:
        raise HTTPException(status_code=429, detail=str(exc), headers={"Retry-After": str(RETRY_AFTER_S)}) from exc


def _found(job: dict | None, job_id: str) -> dict:
    if job is None:
        raise HTTPException(status_code=404, detail=f"no job {job_id}")
    return job
