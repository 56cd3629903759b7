"""Analysis jobs: files analysed in the background while clients come and go.

A job's files and each finished file's outcome are in the database (``jobs`` table),
written after every file, so a job survives a client disconnect and a server restart:
jobs that were queued or running when the server stopped are marked ``interrupted``
at the next start and can be resumed (files already stored are skipped by their
content hash). A job with a file that could not be stored (``storage_error``: a full
or read-only disk; ``internal_error``) ends ``interrupted`` too, with that file's
outcome shown but not counted as finished, and a resume analyses it again.

Live progress (each file's stage and plugin calls) is kept in memory as a list of
events that the Server-Sent Events stream replays, for the running jobs and the latest
``KEEP_FINISHED`` finished ones (the stream of an older job only says how it ended).

Jobs run one after another on one thread; the files of a job run in parallel on the
engine's workers. Cancelling stops files that have not started; files in progress
finish and are stored whole.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from api.paths import PathNotAllowed, confine
from core.engine import MACHINE_ERRORS, AudioSamplerEngine, Progress, database_reason, expand_paths
from database.models import Job, JobState

log = logging.getLogger(__name__)

#: Finished jobs whose live events are kept in memory; older ones are forgotten (a server
#: that runs for months must not keep every job it ever ran).
KEEP_FINISHED = 100


@dataclass
class LiveJob:
    """What a running job has done since the server started: events in order."""

    cancel: threading.Event = field(default_factory=threading.Event)
    events: list[dict[str, Any]] = field(default_factory=list)
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    finished: bool = False


class QueueFull(RuntimeError):
    """As many jobs are queued or running as ``Settings.max_queued_jobs`` allows."""


class JobManager:
    """Queue, run, follow, cancel and resume analysis jobs of one engine."""

    def __init__(self, engine: AudioSamplerEngine):
        self.engine = engine
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="analysis-job")
        self._live: dict[str, LiveJob] = {}
        self._finished: deque[str] = deque()
        self._end_not_stored: set[str] = set()
        self._lock = threading.Lock()
        self._closing = False
        self.interrupted = self._mark_interrupted()

    # ------------------------------------------------------------------ commands

    def submit(self, paths: list[str], plugins: list[str] | None = None, force: bool = False,
               roots: list[Path] | None = None) -> str:
        """Queue the files (folders are expanded now; with ``roots``, files found in them
        whose real path leads outside, through a symbolic link, are left out); returns
        the job's id. Raises QueueFull."""
        self.check_room()
        files = [str(p) for p in expand_paths(paths) if roots is None or _inside(p, roots)]
        job_id = uuid.uuid4().hex
        with self.engine.database.session() as session:
            session.add(Job(id=job_id, state=JobState.QUEUED, paths=files, plugins=plugins, force=force, outcomes={}))
        self._start(job_id)
        return job_id

    def resume(self, job_id: str) -> bool:
        """Queue an interrupted or cancelled job again; False if it cannot be resumed.
        Raises QueueFull."""
        with self.engine.database.session() as session:
            job = session.get(Job, job_id)
            if job is None or self._state_of(job_id, job.state) not in (JobState.INTERRUPTED, JobState.CANCELLED):
                return False
            self.check_room()
            job.state = JobState.QUEUED
        self._start(job_id)
        return True

    def cancel(self, job_id: str) -> bool:
        """Stop a queued or running job; False if there is no such active job."""
        live = self._live.get(job_id)
        if live is None or live.finished:
            return False
        live.cancel.set()
        return True

    def close(self) -> None:
        """Stop every job without waiting (the server is stopping): the running one ends
        ``interrupted`` (files in progress are not stored once the engine closes), the
        queued ones stay queued and are marked ``interrupted`` at the next start."""
        self._closing = True
        for live in list(self._live.values()):
            live.cancel.set()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ reading

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The job's state and every file's progress and outcome, or None."""
        with self.engine.database.session() as session:
            job = session.get(Job, job_id)
            if job is None:
                return None
            live = self._live.get(job_id)
            stages = dict(live.stages) if live else {}
            files = [{"path": path, **stages.get(path, {}), **job.outcomes.get(path, {})} for path in job.paths]
            return {"id": job.id, "state": self._state_of(job_id, job.state), "created_at": job.created_at.isoformat(),
                    "updated_at": job.updated_at.isoformat(), "total_files": len(job.paths),
                    "finished_files": sum(1 for o in job.outcomes.values() if _finished(o)), "files": files}

    def check_room(self) -> None:
        """Raises QueueFull when no more jobs may be queued."""
        limit = self.engine.settings.max_queued_jobs
        if (active := self.active()) >= limit:
            raise QueueFull(f"{active} analysis jobs are waiting or running (at most {limit}): try again when "
                            "some have finished")

    def active(self) -> int:
        """Jobs queued or running in this server."""
        return sum(1 for live in list(self._live.values()) if not live.finished)

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.engine.database.session() as session:
            ids = session.scalars(select(Job.id).order_by(Job.created_at.desc()).limit(limit)).all()
        return [job for job in map(self.get, ids) if job is not None]

    def events_since(self, job_id: str, index: int) -> tuple[list[dict[str, Any]], bool]:
        """Events from ``index`` on, and whether the job has ended (or is not running here)."""
        live = self._live.get(job_id)
        if live is None:
            return [], True
        with self._lock:
            return live.events[index:], live.finished

    # ------------------------------------------------------------------ running

    def _start(self, job_id: str) -> None:
        self._end_not_stored.discard(job_id)
        live = self._live[job_id] = LiveJob()
        self._emit(live, {"type": "state", "state": JobState.QUEUED})
        self._executor.submit(self._run, job_id, live)

    def _run(self, job_id: str, live: LiveJob) -> None:
        state = JobState.DONE
        try:
            with self.engine.database.session() as session:
                job = session.get(Job, job_id)
                job.state = JobState.RUNNING
                todo = [p for p in job.paths if not _finished(job.outcomes.get(p))]
                plugins, force = job.plugins, job.force
            self._emit(live, {"type": "state", "state": JobState.RUNNING})
            if live.cancel.is_set():
                state = JobState.CANCELLED
            else:
                reports = self.engine.analyze_paths(todo, plugins, force, progress=lambda p: self._progress(live, p))
                for report in reports:
                    self._record(job_id, live, report)
                    if report.get("error_code") in MACHINE_ERRORS:  # not stored: the job is not done
                        state = JobState.INTERRUPTED
                    if live.cancel.is_set():
                        reports.close()  # files not started are dropped
                        state = JobState.CANCELLED
                        break
        except SQLAlchemyError as exc:  # the job's own record could not be written (a full disk...)
            log.error("analysis job %s stopped: %s", job_id, exc)
            state = JobState.INTERRUPTED
            self._emit(live, {"type": "error", "error": f"database error: {database_reason(exc)}"})
        except Exception as exc:  # a job must end with a state, whatever happened
            log.exception("analysis job %s failed", job_id)
            state = JobState.INTERRUPTED
            self._emit(live, {"type": "error", "error": f"internal error: {type(exc).__name__}: {exc}"})
        if self._closing:
            state = JobState.INTERRUPTED
        try:
            with self.engine.database.session() as session:
                session.get(Job, job_id).state = state
        except SQLAlchemyError as exc:  # still active in the database: read as interrupted (see _state)
            log.error("the end of analysis job %s could not be recorded: %s", job_id, exc)
            self._end_not_stored.add(job_id)
        with self._lock:
            live.finished = True
        self._emit(live, {"type": "state", "state": self._state_of(job_id, state)})
        self._forget_old(job_id)

    def _forget_old(self, job_id: str) -> None:
        """Drop the live events of finished jobs beyond the latest ``KEEP_FINISHED``."""
        with self._lock:
            self._finished.append(job_id)
            while len(self._finished) > KEEP_FINISHED:
                old = self._finished.popleft()
                if old in self._live and self._live[old].finished:  # not if it was resumed meanwhile
                    del self._live[old]

    def _state_of(self, job_id: str, stored: str) -> str:
        """A job's state: as ``stored``, except that a job that ended here while the database
        still says it is active (its end could not be written) is interrupted."""
        live = self._live.get(job_id)
        ended = (live is not None and live.finished) or job_id in self._end_not_stored
        if ended and stored in JobState.ACTIVE:
            return JobState.INTERRUPTED
        return stored

    def _progress(self, live: LiveJob, progress: Progress) -> None:
        stage = {"stage": progress.stage, "done": progress.done, "total": progress.total}
        live.stages[progress.path] = stage
        self._emit(live, {"type": "progress", "path": progress.path, **stage})

    def _record(self, job_id: str, live: LiveJob, report: dict[str, Any]) -> None:
        """Store a finished file's outcome in the job (a file cut short by a shutdown,
        ``cancelled``, is not finished: a resumed job analyses it)."""
        if report.get("error_code") == "cancelled":
            return
        outcome = {"status": report["status"], "error_code": report.get("error_code"), "error": report.get("error"),
                   "file_id": report.get("id"), "regions": len(report.get("regions", []))}
        with self.engine.database.session() as session:
            job = session.get(Job, job_id)
            job.outcomes = {**job.outcomes, report["path"]: outcome}
        self._emit(live, {"type": "file", "path": report["path"], **outcome})

    def _emit(self, live: LiveJob, event: dict[str, Any]) -> None:
        with self._lock:
            live.events.append(event)

    def _mark_interrupted(self) -> int:
        with self.engine.database.session() as session:
            active = session.scalars(select(Job).where(Job.state.in_(JobState.ACTIVE))).all()
            for job in active:
                job.state = JobState.INTERRUPTED
            return len(active)


def _finished(outcome: dict[str, Any] | None) -> bool:
    """A file's outcome in a job is final (not missing, not an error a resume retries)."""
    return outcome is not None and outcome.get("error_code") not in MACHINE_ERRORS


def _inside(path: Path, roots: list[Path]) -> bool:
    try:
        confine(str(path), roots)
    except PathNotAllowed:
        return False
    return True
