"""Stretches of a region resampled to a model's rate, in bounded memory.

Models of other rates (YAMNet and silero-vad take 16 000 Hz) read a long region a window
at a time: each window is resampled (soxr, HQ) with ``MARGIN_S`` of the region on both
sides, starting on a sample where both rates have one, so it matches the same stretch of
the whole region resampled at once to float rounding, and no window costs more than its
own length.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import soxr

MARGIN_S = 0.05


def length_at(n_samples: int, sr: int, rate: int) -> int:
    """Number of samples ``n_samples`` at ``sr`` Hz become at ``rate`` Hz."""
    return int(round(n_samples * rate / sr))


def window(audio: np.ndarray, sr: int, rate: int, start: int, stop: int) -> np.ndarray:
    """audio: float32 [n] at ``sr`` Hz → float32 [stop − start], samples ``[start, stop)``
    of the audio at ``rate`` Hz, zero beyond the audio's end."""
    if sr == rate:
        out = np.asarray(audio[start:stop], np.float32)
        return np.pad(out, (0, stop - start - len(out)))
    step = sr // math.gcd(sr, rate)  # source samples per whole number of output samples
    lo = max(0, int(start * sr / rate - MARGIN_S * sr) // step * step)
    hi = min(len(audio), int(np.ceil(stop * sr / rate + MARGIN_S * sr)))
    if hi <= lo:
        return np.zeros(stop - start, np.float32)
    resampled = soxr.resample(np.asarray(audio[lo:hi], np.float32), sr, rate)
    offset = lo * rate // sr
    out = resampled[max(0, start - offset) : max(0, stop - offset)].astype(np.float32, copy=False)
    return np.pad(out, (0, stop - start - len(out)))


def blocks(audio: np.ndarray, sr: int, rate: int, block: int) -> Iterator[np.ndarray]:
    """Consecutive windows of ``block`` samples at ``rate`` Hz covering the audio (the last
    one zero-padded)."""
    for start in range(0, length_at(len(audio), sr, rate), block):
        yield window(audio, sr, rate, start, start + block)
