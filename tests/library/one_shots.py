"""One-shot sounds of four kinds, made with numpy, each varied by a seed: kick-like
(a pitch-swept sine thump), snare-like (a tone body under a noise burst), hat-like
(high-passed noise, very short) and tonal (a plucked note of a random pitch); and
textures (long steady noise) as sounds of none of those kinds. float32 [n] at ``sr``."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt

from tests import audio_factory as af

KINDS = ("kick", "snare", "hat", "tonal")


def one_shot(kind: str, seed: int, sr: int = af.SR) -> np.ndarray:
    """A sound of ``kind`` (KINDS or "texture") between 0.2 s silences."""
    rng = np.random.default_rng(seed)
    if kind == "kick":
        t = np.arange(int(0.45 * sr)) / sr
        start, end = rng.uniform(110, 170), rng.uniform(40, 60)
        freq = end + (start - end) * np.exp(-t / rng.uniform(0.03, 0.06))
        sound = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / rng.uniform(0.12, 0.2))
    elif kind == "snare":
        t = np.arange(int(0.3 * sr)) / sr
        body = np.sin(2 * np.pi * rng.uniform(170, 240) * t) * np.exp(-t / 0.05)
        sound = 0.5 * body + rng.standard_normal(len(t)) * np.exp(-t / rng.uniform(0.06, 0.1))
    elif kind == "hat":
        t = np.arange(int(0.12 * sr)) / sr
        hiss = sosfilt(butter(4, rng.uniform(6000, 9000), "highpass", fs=sr, output="sos"), rng.standard_normal(len(t)))
        sound = hiss * np.exp(-t / rng.uniform(0.015, 0.04))
    elif kind == "tonal":
        sound = af.note(rng.uniform(55, 80), rng.uniform(0.6, 1.0), sr, amp=1.0)
    elif kind == "texture":
        colour = sosfilt(butter(2, rng.uniform(300, 3000), "lowpass", fs=sr, output="sos"),
                         rng.standard_normal(int(1.5 * sr)))
        sound = colour * np.hanning(len(colour))
    else:
        raise ValueError(f"unknown kind {kind!r}")
    sound = sound / np.abs(sound).max() * rng.uniform(0.3, 0.8)
    gap = af.silence(0.2, sr)
    return np.concatenate([gap, sound.astype(np.float32), gap])
