"""The worker that runs inside the experimental environment (Essentia).

Started by :class:`core.bridge.Bridge`; reads requests on stdin and answers on the
original stdout (see ``core/wire.py`` for the framing). What the libraries print
cannot reach the replies. Ends on ``shutdown`` or when
stdin closes (its parent is gone).

Operations:

- ``ping {delay_s}``: answers ``{"pong": true}`` after ``delay_s`` seconds (default 0).
- ``key {sample_rate, profile, window_s, hop_s}`` + float32 audio: Essentia's
  KeyExtractor on the whole audio → ``{"key", "scale", "strength"}``, and with
  ``window_s`` also ``"windows": [{"start_s", "key", "scale", "strength"}, ...]``.
"""

import ctypes
import os
import sys
import time
import traceback
from pathlib import Path

# The protocol keeps the real stdout; what the libraries print on fd 1 is dropped
# (tracebacks still go to stderr).
_protocol_out = os.fdopen(os.dup(1), "wb", buffering=0)
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import essentia  # noqa: E402
import essentia.standard as es  # noqa: E402
import numpy as np  # noqa: E402

from core.wire import read_message, write_message  # noqa: E402

essentia.log.infoActive = False
_extractors = {}
try:  # glibc keeps what a long region's call freed; trimmed after each call, it goes back to the system
    _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
except (OSError, AttributeError):  # pragma: no cover - not glibc
    _malloc_trim = None


def ping(params, audio):
    time.sleep(float(params.get("delay_s", 0)))
    return {"pong": True}


def key(params, audio):
    sr = int(params["sample_rate"])
    profile = params.get("profile", "bgate")
    extractor = _extractors.get((sr, profile))
    if extractor is None:
        extractor = _extractors[(sr, profile)] = es.KeyExtractor(profileType=profile, sampleRate=sr)
    tonic, scale, strength = extractor(audio)
    result = {"key": tonic, "scale": scale, "strength": float(strength)}
    window_s = params.get("window_s")
    if window_s:
        size, hop = int(window_s * sr), int(params.get("hop_s", window_s) * sr)
        result["windows"] = []
        for start in range(0, max(1, len(audio) - size + 1), hop):
            w_tonic, w_scale, w_strength = extractor(audio[start : start + size])
            result["windows"].append({"start_s": start / sr, "key": w_tonic, "scale": w_scale,
                                      "strength": float(w_strength)})
    return result


OPERATIONS = {"ping": ping, "key": key}


def main():
    stdin = sys.stdin.buffer
    write_message(_protocol_out, {"ok": True, "ready": True,
                                  "versions": {"essentia": essentia.__version__, "numpy": np.__version__}})
    while True:
        try:
            header, payload = read_message(stdin)
        except EOFError:
            return
        op = header.get("op")
        if op == "shutdown":
            write_message(_protocol_out, {"ok": True, "result": {}})
            return
        if op not in OPERATIONS:
            write_message(_protocol_out, {"ok": False, "error": f"unknown op {op!r}"})
            continue
        try:
            # the samples as they arrived (no copy: "<f4" is float32 here); Essentia copies what it keeps
            audio = np.frombuffer(payload, dtype="<f4").astype(np.float32, copy=False) if payload else None
            reply = {"ok": True, "result": OPERATIONS[op](header.get("params", {}), audio)}
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        audio = payload = None  # the child waits for its next call holding none of this one
        if _malloc_trim is not None:
            _malloc_trim(0)
        write_message(_protocol_out, reply)


if __name__ == "__main__":
    main()
