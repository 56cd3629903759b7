"""``main.py serve`` in a process of its own, for the benchmarks that talk to a real server."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.live_server import free_port

ROOT = Path(__file__).resolve().parent.parent
#: How long a server may take to answer its first /health, seconds.
START_TIMEOUT_S = 120


def start(env: dict[str, str], log: Path | None = None, poll_s: float = 0.2) -> tuple[subprocess.Popen, str]:
    """Start ``main.py serve`` on a free port with the environment ``env``, its output into
    ``log`` (or dropped), in a session of its own; wait for its ``/health``, asked every
    ``poll_s`` seconds.

    Returns: (the process, its base URL). Raises: RuntimeError, with the end of ``log``,
    when it exits or does not answer within ``START_TIMEOUT_S``."""
    port = free_port()
    output = log.open("wb") if log is not None else subprocess.DEVNULL
    server = subprocess.Popen([sys.executable, "main.py", "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    if log is not None:
        output.close()  # the server holds its own copy
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(poll_s)
    server.kill()
    said = log.read_text(errors="replace")[-2000:] if log is not None else ""
    raise RuntimeError(f"the server did not start: {said}")
