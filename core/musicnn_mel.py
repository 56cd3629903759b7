"""musicnn's input: the log-compressed mel spectrogram its models were trained on, in NumPy
only (the experimental environment's worker computes it; this environment's tests check it
against librosa, which musicnn's own ``extractor`` calls).

musicnn (``musicnn/configuration.py``, ``extractor.batch_data``, the checkpoints'
``config.json``): 16 000 Hz, 512-point FFT of a periodic Hann window every 256 samples,
centred frames (the signal reflected at its ends: librosa's padding when the models were
trained), power spectrum, 96 Slaney-style mel bands (librosa's defaults: Slaney
scale and area normalisation, 0 … 8 000 Hz), rounded to float16, then ``log10(10000·x + 1)``;
patches of 187 frames (3 s).
"""

from __future__ import annotations

import functools

import numpy as np

SAMPLE_RATE = 16_000
N_FFT = 512
HOP = 256
N_MELS = 96
#: Frames in one patch: librosa.time_to_frames(3 s) + 1, as musicnn's extractor counts.
PATCH_FRAMES = 187
#: Samples of one patch at ``SAMPLE_RATE``: their centred frames are one patch and one more.
PATCH_SAMPLES = PATCH_FRAMES * HOP


def log_mel(audio16: np.ndarray) -> np.ndarray:
    """audio16: float32 [n_samples] at 16 000 Hz → float32 [1 + n_samples // 256, 96]."""
    padded = np.pad(np.asarray(audio16, np.float32), N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * _hann(), axis=-1)) ** 2
    mel = (power @ _mel_matrix()).astype(np.float16)
    return np.log10(10_000 * mel.astype(np.float32) + 1)


def patches(audio16: np.ndarray) -> np.ndarray:
    """audio16: float32 [k · PATCH_SAMPLES], k consecutive patches of audio, each one's
    spectrogram computed on its own → float32 [k, 187, 96]."""
    if len(audio16) == 0 or len(audio16) % PATCH_SAMPLES:
        raise ValueError(f"the audio must be whole patches of {PATCH_SAMPLES} samples, not {len(audio16)}")
    return np.stack([log_mel(patch)[:PATCH_FRAMES] for patch in np.split(audio16, len(audio16) // PATCH_SAMPLES)])


@functools.cache
def _hann() -> np.ndarray:
    """Periodic Hann window, float64 [512] (scipy's ``get_window("hann")``, librosa's)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)


@functools.cache
def _mel_matrix() -> np.ndarray:
    """float64 [257, 96]: librosa.filters.mel(sr=16000, n_fft=512, n_mels=96).T."""
    def mel(hz: np.ndarray) -> np.ndarray:  # Slaney: linear under 1 kHz, logarithmic above
        hz = np.asarray(hz, np.float64)
        return np.where(hz < 1000, hz * 3 / 200, 15 + np.log(np.maximum(hz, 1e-10) / 1000) * 27 / np.log(6.4))

    def hz(mels: np.ndarray) -> np.ndarray:
        return np.where(mels < 15, mels * 200 / 3, 1000 * np.exp((mels - 15) * np.log(6.4) / 27))

    edges = hz(np.linspace(mel(0.0), mel(SAMPLE_RATE / 2), N_MELS + 2))
    bins = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)[:, None]
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    weights = np.maximum(0.0, np.minimum((bins - lower) / (center - lower), (upper - bins) / (upper - center)))
    return weights * (2 / (upper - lower))
