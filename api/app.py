"""The FastAPI application factory.

The engine (with its worker processes) starts with the app and stops with it; the
server process itself never decodes audio or runs plugin code.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api import session
from api.jobs import JobManager
from api.routers import analysis, audio, export, jobs, library, packs, plugins, system, taggers, tags
from api.schemas import ErrorResponse
from core import __version__
from core.config import Settings, get_settings
from core.engine import UNRECORDED_KEPT, AudioSamplerEngine, database_reason
from database.vector_index import VectorIndexes

log = logging.getLogger(__name__)

VERSION = __version__
#: The web UI: static files (with its npm packages in ui/node_modules), served at /ui/.
UI_DIR = Path(__file__).resolve().parent.parent / "ui"


class InsecureBinding(RuntimeError):
    """The server would listen beyond this machine without an API token."""


def create_app(settings: Settings | None = None, engine: AudioSamplerEngine | None = None) -> FastAPI:
    """Build the app. ``engine`` lets tests share one; by default the app makes its own.

    Raises: InsecureBinding when ``settings.host`` is not loopback and no token is set.
    """
    settings = settings or get_settings()
    if not settings.loopback and not settings.api_token:
        raise InsecureBinding(f"listening on {settings.host} needs AUDIO_SAMPLER_API_TOKEN: anyone who can reach "
                              "the port could read your library")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = engine or AudioSamplerEngine(settings)
        app.state.jobs = JobManager(app.state.engine)
        app.state.indexes = VectorIndexes(settings.cache_dir / "index")
        # what is alive now (modules, the engine) lives as long as the server: kept out of
        # the collector's full passes, which otherwise stall a request for ~80 ms each
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            app.state.jobs.close()
            app.state.indexes.save()
            if engine is None:
                app.state.engine.close()

    app = FastAPI(title="Audio sampler engine", version=VERSION, lifespan=lifespan,
                  responses={400: {"model": ErrorResponse, "description": "A value the server cannot use"},
                             422: {"model": ErrorResponse, "description": "A request that does not fit the schema"}})
    app.state.settings = settings
    for router in (system.router, plugins.router, analysis.router, library.router, audio.router, jobs.router,
                   tags.router, export.router, packs.router, taggers.router, session.router):
        app.include_router(router)
    app.mount("/ui", StaticFiles(directory=UI_DIR, html=True), name="ui")  # /ui redirects to /ui/
    _install_error_handlers(app)
    if settings.api_token:
        session.require_token(app, settings.api_token)
    return app


def _allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """The methods some route of ``app`` accepts at the request's path."""
    methods: set[str] = set()
    for route in app.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE and getattr(route, "methods", None):
            methods |= route.methods
    return sorted(methods)


def _storage_failure(request: Request, message: str, status_code: int = 507) -> JSONResponse:
    """A request the server could not keep (a full or read-only disk, database or not):
    ``{"error": message}``, also kept for ``/status``. ``request.state.about``: the paths
    or names the request was about (else its method and path)."""
    log.error("storage error on %s %s: %s", request.method, request.url.path, message)
    engine = getattr(request.app.state, "engine", None)
    about = getattr(request.state, "about", None) or [f"{request.method} {request.url.path}"]
    for path in (about if engine is not None else [])[:UNRECORDED_KEPT]:
        engine.note_unrecorded(path, "storage_error", message)
    return JSONResponse({"error": message}, status_code=status_code)


def _install_error_handlers(app: FastAPI) -> None:
    """Every error is JSON ``{"error": message}``; never a stack trace."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = exc.headers
        if exc.status_code == 507:
            return _storage_failure(request, str(exc.detail))
        if exc.status_code == 405:  # every method of the path, not only those of the route that matched it
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(app, request))}
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse({"error": f"invalid request: {problems}"}, status_code=422)

    @app.exception_handler(OperationalError)
    async def database_error(request: Request, exc: OperationalError) -> JSONResponse:
        """The database refused a write (a full or read-only disk) or cannot be reached: 507
        when the disk is full, else 503, never a stack trace."""
        reason = database_reason(exc)
        full = any(words in reason.lower() for words in ("full", "no space"))
        return _storage_failure(request, f"database error: {reason}", 507 if full else 503)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": f"internal error: {type(exc).__name__}"}, status_code=500)
