"""A small audio fingerprint of a region, to tell *the same recording* (in another format,
bit depth, sample rate or at another gain) from a merely similar sound.

YAMNet's vector says what a sound is like; lossy codecs move it to a cosine of 0.92–0.99
with the original, and two white noises, or two kicks of one kit, are closer than that.
What survives a codec and a gain change is how the energy of the recording itself rises
and falls in each frequency band, frame by frame. Noise has no stable fine *spectral*
detail, but its band energies do fluctuate, and those fluctuations are the recording's
own: another noise of the same colour fluctuates independently.

Fingerprint (of the first ``FRAMES`` frames of the region, 1.5 s):

1. power spectra of ``N_FFT``-sample Hann frames every ``HOP`` samples (46 ms every 12 ms
   at 22 050 Hz);
2. energy in ``BANDS`` geometric bands from 200 Hz to 8 kHz (below where 22 kHz MP3 and
   Vorbis cut), in dB, with a floor ``FLOOR_DB`` under the region's loudest band-frame so
   that codec noise in quiet tails does not count and gain does not matter;
3. centred twice: each band's mean over time removed (the static spectrum, shared by all
   noises of a colour), then each frame's mean over bands (the loudness envelope, shared
   by all hits of a drum type);
4. one bit per band and frame: the sign (as in Haitsma and Kalker's fingerprints, which
   compare signs of energy differences), 256 bytes, with one byte for the frames held.

Two fingerprints are compared by the share of bits that agree, at the best of the shifts
within ±``MAX_LAG`` frames (region starts move by a few milliseconds between versions,
and MP3 adds an encoder delay), as ``2·share − 1``: about 0 for unrelated audio, near 1
for the same recording. The parameters were chosen on a tuning set (``split="tune"``
clips and drum kits of tests/audio_corpus, 5 versions each), never on bench/similar.py's
evaluation clips.
"""

from __future__ import annotations

import functools

import numpy as np

N_FFT = 1024
HOP = 256
BANDS = 16
FMIN_HZ, FMAX_HZ = 200.0, 8000.0
FRAMES = 128
FLOOR_DB = 60.0
MAX_LAG = 8
#: Frames two fingerprints must share at a shift for it to count.
MIN_OVERLAP = 4
SIZE = 1 + FRAMES * BANDS // 8


def model_name(sr: int) -> str:
    """What the fingerprint's parameters are, stored with it: compare only equal names."""
    return f"fingerprint-v1 ({BANDS} bands, {N_FFT}/{HOP} at {sr} Hz, {FRAMES} frames)"


def fingerprint(audio: np.ndarray, sr: int) -> np.ndarray:
    """uint8 [SIZE]: frames held (0 … FRAMES), then the sign bits, frame by frame."""
    x = np.asarray(audio[: (FRAMES - 1) * HOP + N_FFT], np.float32)
    if len(x) < N_FFT:
        x = np.pad(x, (0, N_FFT - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP][:FRAMES]
    power = np.abs(np.fft.rfft(frames * _window(), axis=1)) ** 2
    energy = power @ _bands(sr)
    level = 10 * np.log10(energy + energy.max() * 10 ** (-FLOOR_DB / 10) + 1e-30)
    level -= level.mean(axis=0, keepdims=True)
    level -= level.mean(axis=1, keepdims=True)
    bits = np.zeros((FRAMES, BANDS), bool)
    bits[: len(level)] = level > 0
    return np.concatenate([[len(level)], np.packbits(bits.reshape(-1))]).astype(np.uint8)


def similarity(target: bytes | np.ndarray, others: list[bytes | np.ndarray]) -> np.ndarray:
    """float [len(others)]: ``2·(share of agreeing bits) − 1`` of ``target`` with each of
    ``others`` at the best shift within ±MAX_LAG frames; −1 for one too short to compare.
    Frames are compared 16 bits at a time (XOR and a population count)."""
    a_frames, a_bits = _unpack(np.frombuffer(bytes(target), np.uint8)[None, :])
    if not others:
        return np.zeros(0)
    b_frames, b_bits = _unpack(np.stack([np.frombuffer(bytes(o), np.uint8) for o in others]))
    a_frames, a_bits = int(a_frames[0]), a_bits[0]
    best = np.full(len(others), -1.0)
    for lag in range(-MAX_LAG, MAX_LAG + 1):
        a_part = a_bits[max(0, lag):]
        b_part = b_bits[:, max(0, -lag):]
        length = min(a_part.shape[0], b_part.shape[1])
        differ = np.cumsum(np.bitwise_count(a_part[None, :length] ^ b_part[:, :length]), axis=1)  # [n, frames]
        overlap = np.minimum(a_frames - max(0, lag), b_frames - max(0, -lag)).clip(0, length)
        rows = np.flatnonzero(overlap >= MIN_OVERLAP)
        if len(rows):
            share = 1.0 - differ[rows, overlap[rows] - 1] / (overlap[rows] * BANDS)
            best[rows] = np.maximum(best[rows], 2 * share - 1)
    return best


def _unpack(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frames held int [n], each frame's bits as one integer [n, FRAMES]) of fingerprints uint8 [n, SIZE]."""
    if packed.shape[1] != SIZE:
        raise ValueError(f"a fingerprint is {SIZE} bytes, not {packed.shape[1]}")
    frames = np.ascontiguousarray(packed[:, 1:]).view(f">u{BANDS // 8}")  # BANDS bits a frame
    return packed[:, 0].astype(np.int64), frames


@functools.cache
def _window() -> np.ndarray:
    return np.hanning(N_FFT).astype(np.float32)


@functools.cache
def _bands(sr: int) -> np.ndarray:
    """float32 [N_FFT // 2 + 1, BANDS]: which FFT bins each band sums."""
    freqs = np.fft.rfftfreq(N_FFT, 1 / sr)
    edges = np.geomspace(FMIN_HZ, min(FMAX_HZ, sr / 2), BANDS + 1)
    return np.stack([(freqs >= lo) & (freqs < hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)],
                    axis=1).astype(np.float32)
