"""The worker that runs inside the experimental environment (Essentia).

Started by :class:`core.bridge.Bridge`; reads requests on stdin and answers on the
original stdout (see ``core/wire.py`` for the framing). What the libraries print
cannot reach the replies. Ends on ``shutdown`` or when
stdin closes (its parent is gone).

Operations:

- ``ping {delay_s}``: answers ``{"pong": true}`` after ``delay_s`` seconds (default 0).
- ``hpcp {sample_rate, block_samples}`` + float32 audio: the pitch-class profile of
  Essentia's KeyExtractor, frame by frame (``FRAME`` samples, no overlap, the first frame
  starting at the first sample), summed over each ``block_samples`` of the audio →
  ``{"blocks": [{"sum": [12 floats], "frames": n}, ...]}``. A caller streams a long
  region through it a stretch at a time.
- ``key {profile, pcps}``: KeyExtractor's last step on each mean profile of ``pcps``
  (lists of 12 floats) → ``{"keys": [{"key", "scale", "strength"}, ...]}``.

``hpcp`` then ``key`` on the mean of all blocks is KeyExtractor on the whole audio when
the frames are placed as its frame cutter places them (centred on multiples of
``FRAME``); plugins/key_finder.py does that, and tests/core/test_essentia_key.py checks it.
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
#: KeyExtractor's defaults: frame and hop (samples), the band its peaks and profile cover (Hz), the
#: profile's bins, and the share of the strongest bin below which a bin of the mean profile is cleared.
FRAME = 4096
MIN_HZ, MAX_HZ = 25.0, 3500.0
BINS = 12
PCP_THRESHOLD = 0.2
_chains = {}
try:  # glibc keeps what a long region's call freed; trimmed after each call, it goes back to the system
    _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
except (OSError, AttributeError):  # pragma: no cover - not glibc
    _malloc_trim = None


def ping(params, audio):
    time.sleep(float(params.get("delay_s", 0)))
    return {"pong": True}


def _chain(sr):
    """KeyExtractor's frame-to-profile algorithms at ``sr`` Hz (made once per rate)."""
    if sr not in _chains:
        _chains[sr] = (
            es.Windowing(type="hann", size=FRAME),
            es.Spectrum(size=FRAME),
            es.SpectralPeaks(orderBy="magnitude", magnitudeThreshold=1e-4, minFrequency=MIN_HZ,
                             maxFrequency=MAX_HZ, maxPeaks=60, sampleRate=sr),
            es.SpectralWhitening(maxFrequency=MAX_HZ, sampleRate=sr),
            es.HPCP(bandPreset=False, harmonics=4, maxFrequency=MAX_HZ, minFrequency=MIN_HZ, nonLinear=False,
                    normalized="none", referenceFrequency=440, sampleRate=sr, size=BINS, weightType="cosine",
                    windowSize=1.0, maxShifted=False),
        )
    return _chains[sr]


def hpcp(params, audio):
    window, spectrum, peaks, whitening, profile = _chain(float(params["sample_rate"]))
    block = int(params["block_samples"])
    if block <= 0 or block % FRAME:
        raise ValueError(f"block_samples must be a positive multiple of {FRAME}")
    blocks = []
    for start in range(0, len(audio), block):
        total, count = np.zeros(BINS), 0
        for frame in es.FrameGenerator(audio[start : start + block], frameSize=FRAME, hopSize=FRAME,
                                       startFromZero=True):
            magnitudes = spectrum(window(frame))
            frequencies, heights = peaks(magnitudes)
            total += profile(frequencies, whitening(magnitudes, frequencies, heights))
            count += 1
        blocks.append({"sum": total.tolist(), "frames": count})
    return {"blocks": blocks}


def key(params, audio):
    estimate = es.Key(usePolyphony=False, useThreeChords=False, numHarmonics=4, slope=0.6,
                      profileType=params.get("profile", "bgate"), pcpSize=BINS)
    found = []
    for pcp in params["pcps"]:
        pcp = np.asarray(pcp, np.float32)
        if pcp.shape != (BINS,):
            raise ValueError(f"a profile has {BINS} values, not {pcp.size}")
        if pcp.max() > 0:
            pcp = pcp / pcp.max()
        pcp[pcp < PCP_THRESHOLD] = 0.0
        tonic, scale, strength, _ = estimate(pcp)
        found.append({"key": tonic, "scale": scale, "strength": float(strength)})
    return {"keys": found}


OPERATIONS = {"ping": ping, "hpcp": hpcp, "key": key}


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
