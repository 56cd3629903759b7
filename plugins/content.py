"""What a region is: speech, music, noise, silence, or a mix, over time.

Result schema:

==================  ==================================================================
``label``           ``speech``, ``music``, ``noise``, ``silence`` or ``mixed``
``confidence``      0 … 1: the share of the timeline's sounding segments that carry the
                    label times their mean confidence (``mixed`` from disagreement: the
                    share outside the largest label)
``timeline``        19 equal segments ``[{start, end, label, confidence}]``, seconds from
                    the region's start (the original system's contract)
``speech_ratio``    share of the region inside silero-vad's speech spans, 0 … 1
``music_ratio``     share of the region in segments where YAMNet hears music, 0 … 1
``speech_segments`` silero-vad's speech spans ``[{start, end}]``, seconds
``model``           the models that produced it (YAMNet's weights, silero-vad's version)
==================  ==================================================================

How a segment is labelled:

1. RMS under ``FLOOR_DB`` (the region detector's absolute floor, −60 dBFS): ``silence``.
2. speech: at least ``SPEECH_COVERAGE`` of the segment inside silero-vad's speech spans;
   music: YAMNet's music score (the highest probability among AudioSet's music classes,
   singing included, over the patches overlapping the segment) at least ``MUSIC_SCORE``.
3. both → ``mixed``, one → that one, neither → ``noise``.

The region's label is the label of at least ``REGION_SHARE`` of its sounding segments,
``mixed`` when no label has that share, ``silence`` when no segment sounds.
``MUSIC_SCORE`` and ``REGION_SHARE`` were chosen by bench/content_accuracy.py on its
tuning clips (other voices, sentences, instruments and seeds than the clips it reports);
``SPEECH_COVERAGE`` is half the segment, untuned.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from core import vad, yamnet
from core.config import get_settings
from core.plugin import Context, Plugin

SEGMENTS = 19
SPEECH_COVERAGE = 0.5
MUSIC_SCORE = 0.3
REGION_SHARE = 0.7
#: AudioSet classes (indices) counted as music: singing (24–32) and Music with its
#: instruments, genres and moods (132–276).
MUSIC_CLASSES = np.r_[24:33, 132:277]
#: Silence is certain this far under the floor, dB (confidence 0.5 at the floor itself).
_SILENCE_MARGIN_DB = 10.0


@dataclass(frozen=True)
class Evidence:
    """What is measured in one timeline segment (times in seconds from the region's start)."""

    start: float
    end: float
    level_db: float  #: RMS, dBFS
    speech_coverage: float  #: share inside speech spans, 0 … 1
    speech_probability: float  #: silero-vad's mean frame probability, 0 … 1
    music_score: float  #: YAMNet's music score, 0 … 1


class Content(Plugin):
    name = "content"
    version = "1.0.0"
    timeout_s = 60.0
    memory_mb = 600
    description = "Speech / music / noise / silence / mixed with a 19-segment timeline (YAMNet, silero-vad)"

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict[str, Any]:
        """audio: float32 [n_samples] at ``sr`` Hz (one region)."""
        evidence, spans = measure(audio, sr)
        return describe(evidence, spans, len(audio) / sr, MUSIC_SCORE, REGION_SHARE)

    def warm_up(self, sr: int) -> None:
        """Load YAMNet and silero-vad once per worker and run them on a second of noise."""
        self.analyze(np.random.default_rng(0).normal(0, 0.1, sr).astype(np.float32), sr,
                     Context(file_path="", region_index=0, start_s=0.0))

    @classmethod
    def summarize(cls, results: list[dict[str, Any]], durations_s: list[float]) -> dict[str, Any]:
        """The file's content: the label covering the most region time."""
        time_by_label: Counter[str] = Counter()
        for result, duration in zip(results, durations_s, strict=True):
            time_by_label[result["label"]] += duration
        return {"content": time_by_label.most_common(1)[0][0]} if time_by_label else {}


def measure(audio: np.ndarray, sr: int) -> tuple[list[Evidence], list[tuple[float, float]]]:
    """Run the models once: the evidence of each of the 19 segments, and the speech spans."""
    scores = yamnet.get().run(audio, sr)
    music = scores.scores[:, MUSIC_CLASSES].max(axis=1)
    probs = vad.get().probabilities(audio, sr)
    spans = vad.speech_spans(probs)
    edges = np.linspace(0.0, len(audio) / sr, SEGMENTS + 1)
    evidence = []
    for start, end in zip(edges[:-1], edges[1:], strict=True):
        samples = audio[int(round(start * sr)) : int(round(end * sr))]
        power = float(np.mean(np.square(samples, dtype=np.float64))) if len(samples) else 0.0
        frames = probs[int(start / vad.FRAME_S) : max(int(start / vad.FRAME_S) + 1, int(np.ceil(end / vad.FRAME_S)))]
        evidence.append(Evidence(
            start=float(start), end=float(end),
            level_db=10 * np.log10(power) if power > 0 else -np.inf,
            speech_coverage=vad.coverage(spans, start, end),
            speech_probability=float(frames.mean()) if len(frames) else 0.0,
            music_score=float(yamnet.span_weights(scores.starts_s, start, end) @ music),
        ))
    return evidence, spans


def label_segment(e: Evidence, music_score: float) -> tuple[str, float]:
    """(label, confidence) of one segment."""
    floor = get_settings().region.floor_db
    if e.level_db < floor:
        return "silence", min(1.0, 0.5 + (floor - e.level_db) / (2 * _SILENCE_MARGIN_DB))
    speech = e.speech_coverage >= SPEECH_COVERAGE
    music = e.music_score >= music_score
    if speech and music:
        return "mixed", min(e.speech_probability, e.music_score)
    if speech:
        return "speech", e.speech_probability
    if music:
        return "music", e.music_score
    return "noise", 1.0 - max(e.speech_probability, e.music_score)


def label_region(timeline: list[dict[str, Any]], region_share: float) -> tuple[str, float]:
    """(label, confidence) of the region from its timeline."""
    sounding = [s for s in timeline if s["label"] != "silence"] or timeline
    counts = Counter(s["label"] for s in sounding)
    top, count = counts.most_common(1)[0]
    share = count / len(sounding)
    if share < region_share:
        return "mixed", 1.0 - share
    return top, share * float(np.mean([s["confidence"] for s in sounding if s["label"] == top]))


def describe(evidence: list[Evidence], spans: list[tuple[float, float]], duration_s: float, music_score: float,
             region_share: float) -> dict[str, Any]:
    """The plugin's result from measured evidence and the two tuned thresholds."""
    timeline = []
    for e in evidence:
        label, confidence = label_segment(e, music_score)
        timeline.append({"start": round(e.start, 3), "end": round(e.end, 3), "label": label,
                         "confidence": round(float(confidence), 3)})
    label, confidence = label_region(timeline, region_share)
    music_time = sum(e.end - e.start for e, s in zip(evidence, timeline, strict=True)
                     if s["label"] in ("music", "mixed"))
    return {
        "label": label,
        "confidence": round(float(confidence), 3),
        "timeline": timeline,
        "speech_ratio": round(vad.coverage(spans, 0.0, duration_s), 3),
        "music_ratio": round(music_time / duration_s, 3) if duration_s > 0 else 0.0,
        "speech_segments": [{"start": round(a, 3), "end": round(b, 3)} for a, b in spans],
        "model": {"yamnet": yamnet.model_name(), "vad": vad.model_name()},
    }

