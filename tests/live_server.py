"""A live HTTP server for tests and scripts that need real connections (a browser, a
process of its own): a free loopback port, and the app served there by uvicorn."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from api.app import create_app
from core.config import Settings
from core.engine import AudioSamplerEngine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(settings: Settings, engine: AudioSamplerEngine | None = None,
          start_timeout_s: float = 60.0) -> Iterator[str]:
    """Serve ``create_app(settings, engine)`` on a free loopback port in a thread of this
    process; yields its base URL (``http://127.0.0.1:PORT``) once it accepts requests."""
    server = uvicorn.Server(uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=free_port(),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)
