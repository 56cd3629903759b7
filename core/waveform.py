"""Min/max waveform peaks for drawing: a 1 000-point overview and an 8 000-point zoom.

Peaks use fixed-size bins of ``samples_per_pixel`` samples, the layout of BBC
audiowaveform, so :meth:`Waveform.to_dat` writes the binary ``.dat`` (version 2) that
waveform-data.js and Peaks.js read natively.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from core.pcm import CHUNK_SAMPLES, PcmFile

OVERVIEW_POINTS = 1_000
ZOOM_POINTS = 8_000


@dataclass(frozen=True)
class Waveform:
    """Peaks of one mono signal.

    min, max: float32 [n_points] in [-1, 1], one pair per bin of ``samples_per_pixel``
    samples at ``sample_rate`` Hz (the last bin may be shorter).
    """

    sample_rate: int
    samples_per_pixel: int
    min: np.ndarray
    max: np.ndarray

    def to_dict(self) -> dict:
        return {
            "sample_rate": self.sample_rate,
            "samples_per_pixel": self.samples_per_pixel,
            "length": len(self.min),
            "min": np.round(self.min, 4).tolist(),
            "max": np.round(self.max, 4).tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Waveform:
        return cls(
            sample_rate=int(data["sample_rate"]),
            samples_per_pixel=int(data["samples_per_pixel"]),
            min=np.asarray(data["min"], np.float32),
            max=np.asarray(data["max"], np.float32),
        )

    def to_dat(self, bits: int = 8) -> bytes:
        """The audiowaveform binary format, version 2, one channel, 8- or 16-bit peaks."""
        if bits not in (8, 16):
            raise ValueError("bits must be 8 or 16")
        scale, dtype = (127, "<i1") if bits == 8 else (32767, "<i2")
        pairs = np.empty(2 * len(self.min), dtype=dtype)
        pairs[0::2] = np.clip(np.round(self.min * scale), -scale, scale)
        pairs[1::2] = np.clip(np.round(self.max * scale), -scale, scale)
        header = struct.pack(
            "<iIiiIi", 2, 1 if bits == 8 else 0, self.sample_rate, self.samples_per_pixel, len(self.min), 1
        )
        return header + pairs.tobytes()


def peaks(audio: np.ndarray | PcmFile, sr: int, points: int) -> Waveform:
    """Min/max over at most ``points`` equal bins of ``audio`` (float32 [n_samples])."""
    if points < 1:
        raise ValueError("points must be at least 1")
    n = len(audio)
    spp = max(1, math.ceil(n / points))
    chunk = max(spp, CHUNK_SAMPLES // spp * spp)
    mins, maxs = [], []
    for start in range(0, n, chunk):
        block = np.asarray(audio[start : start + chunk], dtype=np.float32)
        edges = np.arange(0, len(block), spp)
        mins.append(np.minimum.reduceat(block, edges))
        maxs.append(np.maximum.reduceat(block, edges))
    empty = np.zeros(0, np.float32)
    return Waveform(
        sample_rate=sr,
        samples_per_pixel=spp,
        min=np.clip(np.concatenate(mins) if mins else empty, -1, 1),
        max=np.clip(np.concatenate(maxs) if maxs else empty, -1, 1),
    )


def overview_and_zoom(audio: np.ndarray | PcmFile, sr: int) -> dict[str, Waveform]:
    """The two resolutions the UI draws: ``{"overview": ..., "zoom": ...}``."""
    return {"overview": peaks(audio, sr, OVERVIEW_POINTS), "zoom": peaks(audio, sr, ZOOM_POINTS)}
