"""A persistent child process in another Python environment, spoken to over pipes.

The experimental environment (``envs/experimental/.venv``: Essentia, AGPL-3.0) has
libraries this one must not import. :class:`Bridge` starts its worker script once and
keeps it; each :meth:`Bridge.call` sends one request and reads one reply.

Wire format, both directions, one message after another::

    uint32 big-endian n | n bytes of UTF-8 JSON header | header["payload_bytes"] raw bytes

A request header is ``{"op", "params", "payload_bytes"}`` with the audio as raw
little-endian float32 after it; a reply header is ``{"ok": true, "result": {...}}`` or
``{"ok": false, "error": "..."}``. The child first sends ``{"ok": true, "ready": true,
"versions": {...}}``, or ``{"ok": false, "ready": false, "error": "..."}`` when it cannot
work (a start that failed). No pickle crosses between the interpreters.

Every failure is a :class:`BridgeError`: the environment missing, a child that does
not start in ``start_timeout_s``, a call past its timeout (the child is killed), a
child that dies. The next call starts a fresh child; after a failed start, no new
start is tried for ``retry_after_s``, so a broken environment costs one attempt, not
one per region.
"""

from __future__ import annotations

import atexit
import logging
import os
import resource
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.config import get_settings
from core.wire import read_message, write_message

log = logging.getLogger(__name__)

class BridgeError(Exception):
    """The bridge could not answer: see the message for why."""


class RemoteError(BridgeError):
    """The child answered that the request failed (the child itself is fine)."""


class Bridge:
    """A child process running ``script`` with ``python``; thread-safe, one call at a time.

    python: the other environment's interpreter. script: its worker (see
    ``envs/experimental/worker.py``).
    """

    def __init__(self, python: Path, script: Path, start_timeout_s: float = 60.0, retry_after_s: float = 60.0):
        self.python = Path(python)
        self.script = Path(script)
        self.start_timeout_s = start_timeout_s
        self.retry_after_s = retry_after_s
        self.versions: dict[str, str] = {}
        self.starts = 0
        self._process: subprocess.Popen | None = None
        self._owner = os.getpid()
        self._failed_at: float | None = None
        self._last_error = ""
        self._lock = threading.Lock()

    @property
    def environment_present(self) -> bool:
        return self.python.exists() and self.script.exists()

    def call(self, op: str, params: dict[str, Any], audio: np.ndarray | None = None,
             timeout_s: float = 60.0) -> dict[str, Any]:
        """Send ``op`` with ``params`` (and audio: float32 [n]); return the child's result.

        Raises RemoteError when the child reports a failure, BridgeError when the
        bridge itself failed (then the child is gone and the next call starts anew).
        """
        payload = b"" if audio is None else memoryview(np.ascontiguousarray(audio, dtype="<f4")).cast("B")
        with self._lock:
            process = self._ensure_started()
            try:
                assert process.stdin is not None and process.stdout is not None
                write_message(process.stdin, {"op": op, "params": params}, payload)
                header, _ = self._read(process, timeout_s, f"{op} did not answer within {timeout_s:.3g} s")
            except (OSError, EOFError, ValueError) as exc:
                self._kill()
                raise BridgeError(f"the experimental environment's worker died during {op}: {exc}") from exc
        if not header.get("ok"):
            raise RemoteError(str(header.get("error", "unknown error")))
        return header["result"]

    def status(self) -> dict[str, Any]:
        running = self._process is not None and self._process.poll() is None and self._owner == os.getpid()
        return {"environment": str(self.python.parent.parent), "present": self.environment_present,
                "running": running, "starts": self.starts, "versions": self.versions,
                "last_error": self._last_error or None}

    def close(self) -> None:
        """Ask the child to stop, then make sure it has."""
        with self._lock:
            process = self._process
            if process is None or self._owner != os.getpid():
                self._process = None
                return
            try:
                assert process.stdin is not None
                write_message(process.stdin, {"op": "shutdown", "params": {}})
                process.wait(timeout=5)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass
            self._kill()

    # ------------------------------------------------------------------ internals

    def _ensure_started(self) -> subprocess.Popen:
        if self._owner != os.getpid():  # forked: the child belongs to the parent
            self._process, self._owner = None, os.getpid()
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._process = None
        if self._failed_at is not None and time.monotonic() - self._failed_at < self.retry_after_s:
            raise BridgeError(f"the experimental environment is unavailable: {self._last_error}")
        if not self.environment_present:
            self._fail(f"{self.python} or {self.script} does not exist (run `make run` or `make test` to build it)")
        try:
            process = subprocess.Popen([str(self.python), str(self.script)], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=None, bufsize=0,
                                       preexec_fn=_without_memory_cap)
        except OSError as exc:
            self._fail(f"cannot start {self.python}: {exc}")
        self._process = process
        try:
            header, _ = self._read(process, self.start_timeout_s, f"did not start within {self.start_timeout_s:.3g} s")
        except (OSError, EOFError, ValueError, BridgeError) as exc:
            self._kill()
            self._fail(f"its worker failed to start: {exc}")
        if not header.get("ready"):  # the worker said why it cannot work
            self._kill()
            self._fail(f"its worker refused to start: {header.get('error', 'no reason given')}")
        self.versions = header.get("versions", {})
        self.starts += 1
        self._failed_at, self._last_error = None, ""
        log.info("experimental environment started (pid %s, %s)", process.pid, self.versions)
        return process

    def _read(self, process: subprocess.Popen, timeout_s: float, timeout_message: str) -> tuple[dict, bytes]:
        assert process.stdout is not None
        try:
            return read_message(process.stdout, time.monotonic() + timeout_s)
        except TimeoutError:
            self._kill()
            raise BridgeError(timeout_message) from None

    def _fail(self, reason: str) -> None:
        self._failed_at, self._last_error = time.monotonic(), reason
        raise BridgeError(f"the experimental environment is unavailable: {reason}")

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


def _without_memory_cap() -> None:
    """In the child before exec: drop the sandbox's address-space cap of the caller, which
    was sized for the caller's own work, not for a second interpreter."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


_shared: dict[tuple[str, str], Bridge] = {}
_shared_lock = threading.Lock()


def experimental_bridge(worker: Path | None = None) -> Bridge:
    """This process's bridge to ``worker`` (default: the Essentia worker) in the experimental
    environment of the current settings, created on first use."""
    settings = get_settings()
    worker = worker or settings.experimental_worker
    key = (str(settings.experimental_python), str(worker))
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Bridge(settings.experimental_python, worker,
                                  start_timeout_s=settings.bridge_start_timeout_s)
            atexit.register(_shared[key].close)
        return _shared[key]


_probed: dict[tuple[str, str], dict[str, Any]] = {}
_probes: dict[tuple[str, str], threading.Thread] = {}
#: What :func:`environment_status` answers, ``reason`` aside, while its check runs.
CHECKING = "being checked"


def environment_status(python: Path, script: Path, wait: bool = True) -> dict[str, Any]:
    """Whether the experimental environment works: ``script`` started once with ``python``
    and pinged, then cached.

    Returns ``{"environment", "present", "available", "versions", "reason"}``. With ``wait``
    False the first call starts that check in a thread of its own (a TensorFlow worker
    takes seconds to start) and, until it is done, answers at once with ``available``
    None and ``reason`` :data:`CHECKING`.
    """
    key = (str(python), str(script))
    with _shared_lock:
        found = _probed.get(key)
        if found is None and key not in _probes:
            _probes[key] = threading.Thread(target=_probe, args=(Path(python), Path(script)), daemon=True,
                                            name=f"probe-{Path(script).stem}")
            _probes[key].start()
        probe = _probes.get(key)
    if found is None and wait:
        probe.join()
        found = _probed[key]
    if found is None:
        return _answer(Bridge(python, script), None, CHECKING)
    return dict(found)


def _probe(python: Path, script: Path) -> None:
    """Start ``script``, ping it, stop it: :func:`environment_status`'s check."""
    bridge = Bridge(python, script)
    reason = "the check itself failed"  # an error that is no BridgeError: the thread reports it
    try:
        bridge.call("ping", {}, timeout_s=10)
        reason = None
    except BridgeError as exc:
        reason = str(exc)
    finally:
        bridge.close()
        with _shared_lock:
            _probed[str(python), str(script)] = _answer(bridge, reason is None, reason)


def _answer(bridge: Bridge, available: bool | None, reason: str | None) -> dict[str, Any]:
    """:func:`environment_status`'s answer about ``bridge``'s environment."""
    return {"environment": str(bridge.python.parent.parent), "present": bridge.environment_present,
            "available": available, "versions": bridge.versions, "reason": reason}
