"""The request loop of a child that :class:`core.bridge.Bridge` starts (see ``core/wire.py``
for the framing): what every worker script of the experimental environment shares.

A worker calls :func:`protocol_stream` first, before it imports any library, so that what
the libraries print on fd 1 cannot reach the replies (tracebacks still go to stderr), then
:func:`serve` with its operations, or :func:`refuse` when it cannot work. The loop ends on
``shutdown`` or when stdin closes (its parent is gone). Every child answers ``ping
{delay_s}`` with ``{"pong": true}`` after ``delay_s`` seconds (default 0).
"""

import ctypes
import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

from core.wire import read_message, write_message  # noqa: E402

try:  # glibc keeps what a long region's call freed; trimmed after each call, it goes back to the system
    _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
except (OSError, AttributeError):  # pragma: no cover - not glibc
    _malloc_trim = None


def ping(params, audio):
    time.sleep(float(params.get("delay_s", 0)))
    return {"pong": True}


def protocol_stream():
    """The original stdout, for the replies; fd 1 then points to /dev/null."""
    stream = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    return stream


def refuse(out, reason):
    """Tell the parent this child cannot start: ``{"ok": false, "ready": false, "error"}``."""
    write_message(out, {"ok": False, "ready": False, "error": reason})


def serve(out, operations, versions):
    """Answer requests until ``shutdown`` or the end of stdin. operations: name →
    function(params, audio) → JSON-able result, where audio is float32 [n] or None;
    versions: sent in the first message, ``{"ok": true, "ready": true, "versions": ...}``."""
    operations = {"ping": ping, **operations}
    stdin = sys.stdin.buffer
    write_message(out, {"ok": True, "ready": True, "versions": versions})
    while True:
        try:
            header, payload = read_message(stdin)
        except EOFError:
            return
        op = header.get("op")
        if op == "shutdown":
            write_message(out, {"ok": True, "result": {}})
            return
        if op not in operations:
            write_message(out, {"ok": False, "error": f"unknown op {op!r}"})
            continue
        try:
            # the samples as they arrived (no copy: "<f4" is float32 here)
            audio = np.frombuffer(payload, dtype="<f4").astype(np.float32, copy=False) if payload else None
            reply = {"ok": True, "result": operations[op](header.get("params", {}), audio)}
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        audio = payload = None  # the child waits for its next call holding none of this one
        if _malloc_trim is not None:
            _malloc_trim(0)
        write_message(out, reply)
