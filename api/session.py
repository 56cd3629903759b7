"""The API token, for scripts and for the web page.

A script sends ``Authorization: Bearer <token>``. A browser cannot put that header on
what the page itself loads (the audio element's source, the job's event stream, a
download link, a region dragged out), so the page trades the token once for a session
cookie: ``POST /api/session`` with ``{"token": ...}`` sets ``sampler_session`` (HttpOnly,
SameSite=Strict, no expiry: it ends with the browser session), and ``DELETE
/api/session`` removes it. The cookie holds an HMAC of the token, not the token.

Open without either: ``/health``, ``/api/session`` (it checks the token itself) and the
page's static files under ``/ui`` (code, no data: the page asks for the token when the API
answers 401). A request authenticated by the cookie that changes something must come
from the server's own origin (the Origin header, when the browser sends one, names it).

Tokens are compared in constant time (as SHA-256 digests, so not even their lengths
show), and never logged. A client that sends too many wrong tokens (in the header or to
``POST /api/session``) is refused with 429 for a while (api.throttle); a wrong cookie
is not counted (it is an HMAC, not something to guess), nor a request without a token.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.schemas import ErrorResponse
from api.throttle import FailureThrottle

COOKIE = "sampler_session"
#: Paths answered without a token (the static page: /ui and everything under /ui/).
OPEN_PATHS = frozenset({"/health", "/api/session", "/ui"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

router = APIRouter(tags=["system"])


class SessionRequest(BaseModel):
    token: str = Field(min_length=1, max_length=4096, description="The server's API token")


class SessionState(BaseModel):
    required: bool = Field(description="Whether this server asks for a token at all")


def session_value(token: str) -> str:
    """The cookie's value for ``token``: a keyed hash, so the cookie does not hold the token."""
    return hmac.new(token.encode(), b"audio-sampler web session", hashlib.sha256).hexdigest()


def _token(request: Request) -> str:
    return request.app.state.settings.api_token


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _guess(request: Request, given: str, expected: bytes) -> JSONResponse | None:
    """None when ``given`` is the expected token (its ``_digest``); else the answer: 429
    (with Retry-After) while the client is throttled, 401 (counted as a failure)."""
    throttle: FailureThrottle = request.app.state.token_throttle
    client = request.client.host if request.client else "unknown"
    if wait := throttle.retry_after(client):
        return JSONResponse({"error": f"too many wrong API tokens from {client}: try again in {wait} s"},
                            status_code=429, headers={"Retry-After": str(wait)})
    if hmac.compare_digest(_digest(given), expected):
        return None
    throttle.failed(client)
    return JSONResponse({"error": "wrong API token"}, status_code=401)


@router.post("/api/session", response_model=SessionState,
             responses={401: {"model": ErrorResponse}, 429: {"model": ErrorResponse,
                                                             "description": "Too many wrong tokens (see Retry-After)"}})
async def open_session(body: SessionRequest, request: Request, response: Response) -> SessionState | JSONResponse:
    """Trade the API token for a session cookie (the web page's way in)."""
    token = _token(request)
    if not token:
        return SessionState(required=False)
    if refused := _guess(request, body.token, _digest(token)):
        return refused
    response.set_cookie(COOKIE, session_value(token), httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
    return SessionState(required=True)


@router.delete("/api/session", response_model=SessionState)
async def close_session(request: Request, response: Response) -> SessionState:
    """Forget this browser's session cookie."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return SessionState(required=bool(_token(request)))


def require_token(app: FastAPI, token: str) -> None:
    """Every request but the open paths must carry the token (header) or the session cookie."""
    header = _digest(f"Bearer {token}")
    cookie = _digest(session_value(token))
    app.state.token_throttle = FailureThrottle()

    @app.middleware("http")
    async def check_token(request: Request, call_next):
        path = request.url.path
        if path in OPEN_PATHS or path.startswith("/ui/"):
            return await call_next(request)
        if (given := request.headers.get("authorization")) is not None:
            refused = _guess(request, given, header)
            if refused is None:
                return await call_next(request)
            if refused.status_code == 429:
                return refused
        if hmac.compare_digest(_digest(request.cookies.get(COOKIE, "")), cookie):
            if request.method not in SAFE_METHODS and not _same_origin(request):
                return JSONResponse({"error": "a change to the library must come from the server's own page"},
                                    status_code=403)
            return await call_next(request)
        return JSONResponse({"error": "missing or wrong API token (Authorization: Bearer …)"}, status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})


def _same_origin(request: Request) -> bool:
    """Whether the request's Origin (when the browser sends one) is the host it was sent to."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a cross-site request from a browser (they send Origin with changes)
    return urlsplit(origin).netloc == request.headers.get("host", "")
