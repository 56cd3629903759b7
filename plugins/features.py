"""Low-level features of a region: loudness, spectral shape, timbre, pitch classes, onsets.

Result schema (all levels in dB relative to full scale; ``{mean, std}`` over STFT frames
of 2048 samples, hop 512, at 22 050 Hz):

=========================  ===============================================================
``duration_s``             length of the region, seconds
``loudness_lufs``          integrated loudness, BS.1770-4 gated (None under 0.4 s or −70 LUFS)
``peak_dbfs``              sample peak
``rms_dbfs``               RMS level over the whole region
``crest_db``               peak − RMS
``spectral_centroid_hz``   ``{mean, std}``, brightness
``spectral_bandwidth_hz``  ``{mean, std}``
``spectral_rolloff_hz``    ``{mean, std}``, frequency below which 85 % of the energy lies
``spectral_flatness``      ``{mean, std}``, 0 (tonal) … 1 (white noise)
``zero_crossing_rate``     ``{mean, std}``, crossings per sample
``mfcc_mean``, ``mfcc_std``  13 MFCCs (40 mel bands), per-coefficient mean and std
``chroma_mean``            12 pitch-class energies C … B, normalised to max 1
``onset_count``, ``onset_rate_hz``  detected onsets and onsets per second
=========================  ===============================================================

Long regions are processed in chunks of ``CHUNK_S`` seconds, so memory does not grow
with length beyond the region's own samples.
"""

from __future__ import annotations

from typing import Any

import librosa
import numpy as np

from core.loudness import integrated_lufs
from core.pcm import chunks
from core.plugin import Context, Plugin

N_FFT = 2048
HOP = 512
N_MFCC = 13
N_MELS = 40
CHUNK_S = 30.0
_SILENT_DB = -200.0

_FRAME_FEATURES = ("spectral_centroid_hz", "spectral_bandwidth_hz", "spectral_rolloff_hz",
                   "spectral_flatness", "zero_crossing_rate")


class Features(Plugin):
    name = "features"
    version = "1.0.0"
    timeout_s = 60.0
    memory_mb = 1000
    description = "Loudness (LUFS, peak, RMS, crest), spectral shape, MFCC and chroma summaries, onset rate"

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict[str, Any]:
        """audio: float32 [n_samples] at ``sr`` Hz (one region)."""
        frames: dict[str, list[np.ndarray]] = {key: [] for key in (*_FRAME_FEATURES, "mfcc", "chroma")}
        onsets = 0
        peak = 0.0
        energy = 0.0
        for block in chunks(audio, int(CHUNK_S * sr)):
            peak = max(peak, float(np.max(np.abs(block))))
            energy += float(np.dot(block, block.astype(np.float64)))
            onsets += _analyse_chunk(block, sr, frames)
        duration = len(audio) / sr
        peak_db = _db(peak)
        rms_db = _db(np.sqrt(energy / max(len(audio), 1)))
        stacked = {key: np.concatenate(parts, axis=-1) for key, parts in frames.items()}
        chroma = stacked["chroma"].mean(axis=1)
        return {
            "duration_s": duration,
            "loudness_lufs": integrated_lufs(chunks(audio, int(CHUNK_S * sr)), sr),
            "peak_dbfs": peak_db,
            "rms_dbfs": rms_db,
            "crest_db": peak_db - rms_db if peak > 0 else 0.0,
            **{key: {"mean": float(stacked[key].mean()), "std": float(stacked[key].std())} for key in _FRAME_FEATURES},
            "mfcc_mean": stacked["mfcc"].mean(axis=1),
            "mfcc_std": stacked["mfcc"].std(axis=1),
            "chroma_mean": chroma / chroma.max() if chroma.max() > 0 else chroma,
            "onset_count": onsets,
            "onset_rate_hz": onsets / duration if duration > 0 else 0.0,
        }

    def warm_up(self, sr: int) -> None:
        """Compile librosa's numba kernels on 3 s of a chord over noise."""
        t = np.arange(3 * sr) / sr
        rng = np.random.default_rng(0)
        chord = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 330 * t)
        signal = chord + 0.05 * rng.standard_normal(len(t))
        self.analyze(signal.astype(np.float32), sr, Context(file_path="", region_index=0, start_s=0.0))

    @classmethod
    def summarize(cls, results: list[dict[str, Any]], durations_s: list[float]) -> dict[str, Any]:
        """File loudness: regions' LUFS averaged in the power domain, weighted by length."""
        pairs = [(r["loudness_lufs"], d) for r, d in zip(results, durations_s, strict=True)
                 if r.get("loudness_lufs") is not None]
        summary: dict[str, Any] = {}
        if pairs:
            lufs, weights = np.array(pairs).T
            summary["loudness_lufs"] = float(10 * np.log10(np.average(10 ** (lufs / 10), weights=weights)))
        if results:
            summary["peak_dbfs"] = max(r["peak_dbfs"] for r in results)
        return summary


def _analyse_chunk(block: np.ndarray, sr: int, frames: dict[str, list[np.ndarray]]) -> int:
    """Append per-frame features of ``block`` to ``frames``; return its onset count."""
    if len(block) < N_FFT:
        block = np.pad(block, (0, N_FFT - len(block)))
    magnitude = np.abs(librosa.stft(block, n_fft=N_FFT, hop_length=HOP))
    power = magnitude**2
    frames["spectral_centroid_hz"].append(librosa.feature.spectral_centroid(S=magnitude, sr=sr)[0])
    frames["spectral_bandwidth_hz"].append(librosa.feature.spectral_bandwidth(S=magnitude, sr=sr)[0])
    frames["spectral_rolloff_hz"].append(librosa.feature.spectral_rolloff(S=magnitude, sr=sr)[0])
    frames["spectral_flatness"].append(librosa.feature.spectral_flatness(S=magnitude)[0])
    frames["zero_crossing_rate"].append(
        librosa.feature.zero_crossing_rate(block, frame_length=N_FFT, hop_length=HOP)[0]
    )
    mel_db = librosa.power_to_db(librosa.feature.melspectrogram(S=power, sr=sr, n_mels=N_MELS))
    frames["mfcc"].append(librosa.feature.mfcc(S=mel_db, n_mfcc=N_MFCC))
    frames["chroma"].append(librosa.feature.chroma_stft(S=power, sr=sr, tuning=0.0))
    envelope = librosa.onset.onset_strength(S=mel_db, sr=sr)
    return len(librosa.onset.onset_detect(onset_envelope=envelope, sr=sr, hop_length=HOP))


def _db(amplitude: float) -> float:
    return float(20 * np.log10(amplitude)) if amplitude > 0 else _SILENT_DB
