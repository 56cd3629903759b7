"""Silence detection: split a file into the regions of sound between silences.

The method, with every threshold in :class:`core.config.RegionSettings`:

1. RMS level in dBFS over consecutive, non-overlapping frames of ``frame_s``
   (256 samples, 11.6 ms at 22 050 Hz), so a boundary is found to within one frame.
2. A frame is *sound* when its level is above ``reference − relative_db`` and above
   ``floor_db``; the reference is the ``reference_percentile`` of all frame levels, so
   a quiet recording is judged against itself, and a file of hiss or digital silence
   below the floor gives no region at all (not an error).
3. Silences shorter than ``min_silence_s`` are bridged, regions shorter than
   ``min_region_s`` dropped, and each region is padded by ``padding_s`` on both sides
   without overlapping its neighbours or leaving the file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.config import RegionSettings
from core.pcm import PcmFile, chunks

_SILENCE_DB = -200.0


@dataclass(frozen=True)
class Region:
    """A stretch of sound: samples ``[start, stop)`` of the decoded file."""

    index: int
    start: int
    stop: int

    def start_s(self, sr: int) -> float:
        return self.start / sr

    def end_s(self, sr: int) -> float:
        return self.stop / sr


def frame_levels_db(audio: np.ndarray | PcmFile, frame: int) -> np.ndarray:
    """RMS level of consecutive frames of ``frame`` samples (the last may be short).

    audio: float32 [n_samples]. Returns: float64 [ceil(n / frame)] in dBFS (a full-scale
    sine is −3 dBFS; digital silence is −200 dBFS).
    """
    chunk = max(frame, (1 << 20) // frame * frame)
    parts = []
    for block in chunks(audio, chunk):
        n_full = len(block) // frame
        squares = np.square(block, dtype=np.float64)
        sums = squares[: n_full * frame].reshape(n_full, frame).sum(axis=1)
        counts = np.full(n_full, frame, dtype=np.float64)
        if len(block) > n_full * frame:
            sums = np.append(sums, squares[n_full * frame :].sum())
            counts = np.append(counts, len(block) - n_full * frame)
        parts.append(sums / counts)
    mean_square = np.concatenate(parts) if parts else np.zeros(0)
    with np.errstate(divide="ignore"):
        return np.maximum(10.0 * np.log10(mean_square), _SILENCE_DB)


def detect(audio: np.ndarray | PcmFile, sr: int, settings: RegionSettings | None = None) -> list[Region]:
    """Find the regions of sound in ``audio`` (float32 [n_samples] at ``sr`` Hz)."""
    settings = settings or RegionSettings()
    n = len(audio)
    frame = max(1, round(settings.frame_s * sr))
    levels = frame_levels_db(audio, frame)
    if not len(levels):
        return []
    threshold = max(float(np.percentile(levels, settings.reference_percentile)) - settings.relative_db,
                    settings.floor_db)
    runs = _runs(levels > threshold)
    runs = _bridge(runs, max(1, round(settings.min_silence_s * sr / frame)))
    spans = [(a * frame, min(b * frame, n)) for a, b in runs]
    spans = [(a, b) for a, b in spans if b - a >= settings.min_region_s * sr]
    return _pad(spans, round(settings.padding_s * sr), n)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges where ``mask`` is true."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _bridge(runs: list[tuple[int, int]], min_gap: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, stop in runs:
        if merged and start - merged[-1][1] < min_gap:
            merged[-1] = (merged[-1][0], stop)
        else:
            merged.append((start, stop))
    return merged


def _pad(spans: list[tuple[int, int]], pad: int, n: int) -> list[Region]:
    regions = []
    for i, (start, stop) in enumerate(spans):
        lowest = (spans[i - 1][1] + start) // 2 if i else 0
        highest = (stop + spans[i + 1][0]) // 2 if i + 1 < len(spans) else n
        regions.append(Region(index=i, start=max(start - pad, lowest), stop=min(stop + pad, highest)))
    return regions
