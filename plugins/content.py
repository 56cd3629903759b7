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
``music_ratio``     share of the region in stretches (below) where YAMNet hears music, 0 … 1
``speech_segments`` silero-vad's speech spans ``[{start, end}]``, seconds
``model``           the models that produced it (YAMNet's weights, silero-vad's version)
==================  ==================================================================

How the timeline is made: each segment is cut into ``VOTES`` equal stretches, each
stretch is labelled, and the segment takes the label most of its decided stretches carry
(a segment whose larger part is music is music, however it starts or ends). A stretch is:

1. ``silence`` with RMS under the region detector's absolute floor (−60 dBFS);
2. speech: at least ``SPEECH_COVERAGE`` of it inside silero-vad's speech spans;
   music: YAMNet's music score (the highest probability among AudioSet's music classes,
   singing included) at least ``MUSIC_SCORE``; both → ``mixed``, one → that one;
3. else ``noise`` when YAMNet's score of other sounds (:data:`NOISE_CLASSES`) is above
   its music score, and undecided when neither is heard clearly: such stretches have no
   vote (a segment of undecided stretches only is ``noise``).

YAMNet scores whole 0.96 s patches every 0.48 s, so a patch that ends in music hears
music all through. A stretch takes the least score of the two patches that cover its
middle (:func:`core.yamnet.covering`): music is heard where every patch hearing that
moment hears it, which puts a change within one patch hop of where it is. Under speech
it takes their mean instead: a voice masks the music behind it in some patches, and the
least lost speech over music (on the tuning split, one of 40 such clips more was right
with the mean there). On the tuning split's speech → music → noise files
(bench/content_accuracy.py) this and the votes brought 77 of 80 boundaries within one
segment (before: 72, with errors up to 9.7 segments where speech pauses or the first
notes of music, which YAMNet hears late, had made a ``noise`` segment). Those left:
band-passed noise that YAMNet hears as music, and a guitar's decaying note that it hears
as a ding.

Then each segment's spectrum, over ``TONE_WINDOW_S`` at its middle (:func:`tone`),
corrects YAMNet where it confuses music and noise: a ``music`` segment without tonal
peaks (``peaks_db`` under ``TONELESS_DB``) and without onsets (``flux_ratio`` under
``STEADY_FLUX``) is ``noise``; a ``noise`` segment with tonal peaks (``peaks_db`` at least
``TONAL_DB``) next to music, or next to a segment so changed, is ``music``; a segment so
changed has the confidence its votes left to other labels. In the segments of the
tuning split's clips, music showed peaks of 8.4 … 54 dB (drum kits alone, in 0.5 s
windows, down to 3.2, but with onsets), white, pink, brown and band-passed noise
2.3 … 4.3 dB with a flux ratio of 1.03 … 1.24 (``STEADY_FLUX`` is well above it,
untuned); the speech → music → noise files went from 77 to 80 of 80
boundaries within one segment, for ``TONELESS_DB`` 4 … 6 and ``TONAL_DB`` 10 … 20 alike
(the values are inside; bench/content_accuracy.py prints the sweep), and the region labels
of the tuning clips from 199 to 200 of 200 (a band-passed noise). A steady tone alone
stays noise: it is music only where it continues music.

The region's label is the label of at least ``REGION_SHARE`` of its sounding segments,
``mixed`` when no label has that share, ``silence`` when no segment sounds.
``MUSIC_SCORE`` and ``REGION_SHARE`` were chosen by bench/content_accuracy.py on its
tuning clips (other voices, sentences, instruments and seeds than the clips it reports):
both lie inside the plateau where region labels and boundaries are best;
``SPEECH_COVERAGE`` is half the stretch, untuned.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import librosa
import numpy as np
import scipy.ndimage

from core import vad, yamnet
from core.config import get_settings
from core.pcm import mean_square
from core.plugin import Context, Plugin

SEGMENTS = 19
VOTES = 8
SPEECH_COVERAGE = 0.5
MUSIC_SCORE = 0.3
REGION_SHARE = 0.7
#: AudioSet classes (indices) counted as music: singing (24–32) and Music with its
#: instruments, genres and moods (132–276).
MUSIC_CLASSES = np.r_[24:33, 132:277]
#: AudioSet classes counted as other sounds: all but the human voice (0–35), music,
#: Silence (494) and the acoustic scenes (500–506: rooms, reverberation, echo).
NOISE_CLASSES = np.setdiff1d(np.arange(yamnet.N_CLASSES), np.r_[0:36, 132:277, 494, 500:507])
#: Silence is certain this far under the floor, dB (confidence 0.5 at the floor itself).
_SILENCE_MARGIN_DB = 10.0
#: A segment's spectrum is measured over this much at its middle, seconds.
TONE_WINDOW_S = 0.5
#: Spectral peaks under this (dB over the spectrum's running median) are no tone ...
TONELESS_DB = 5.0
#: ... and at least this much a clear one.
TONAL_DB = 15.0
#: A spectrum whose largest flux stays under this many times its median has no onset.
STEADY_FLUX = 3.0
_TONE_FFT = 2048
#: Bins of the running median the peaks stand out from (about 330 Hz at 22 050 Hz).
_TONE_MEDIAN_BINS = 31
_TONE_BAND_HZ = (60.0, 5000.0)


@dataclass(frozen=True)
class Evidence:
    """What is measured in one stretch of a timeline segment (times in seconds from the
    region's start)."""

    start: float
    end: float
    level_db: float  #: RMS, dBFS
    speech_coverage: float  #: share inside speech spans, 0 … 1
    speech_probability: float  #: silero-vad's mean frame probability, 0 … 1
    music_score: float  #: YAMNet's music score, the least of the patches covering the middle, 0 … 1
    music_under_speech: float  #: the same, their mean, 0 … 1
    noise_score: float  #: YAMNet's score of other sounds, the least of those patches, 0 … 1


@dataclass(frozen=True)
class Tone:
    """A timeline segment's spectrum over ``TONE_WINDOW_S`` at its middle."""

    level_db: float  #: RMS, dBFS
    peaks_db: float  #: 99th percentile, 60 Hz … 5 kHz, of the mean power spectrum over its running median, dB
    flux_ratio: float  #: largest spectral flux between frames over the median one, ≥ 1 (onsets: large)


class Content(Plugin):
    name = "content"
    version = "1.2.0"
    timeout_s = 60.0
    memory_mb = 600
    description = "Speech / music / noise / silence / mixed with a 19-segment timeline (YAMNet, silero-vad)"

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict[str, Any]:
        """audio: float32 [n_samples] at ``sr`` Hz (one region)."""
        evidence, spans, tones = measure(audio, sr)
        return describe(evidence, spans, tones, len(audio) / sr, MUSIC_SCORE, REGION_SHARE)

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


def measure(audio: np.ndarray, sr: int) -> tuple[list[Evidence], list[tuple[float, float]], list[Tone]]:
    """Run the models once: the evidence of each of the ``SEGMENTS × VOTES`` equal stretches
    of the region (``VOTES`` per timeline segment, in time order), the speech spans, and
    each timeline segment's :class:`Tone`."""
    scores = yamnet.get().run(audio, sr)
    music = scores.scores[:, MUSIC_CLASSES].max(axis=1)
    noise = scores.scores[:, NOISE_CLASSES].max(axis=1)
    probs = vad.get().probabilities(audio, sr)
    spans = vad.speech_spans(probs)
    edges = np.linspace(0.0, len(audio) / sr, SEGMENTS * VOTES + 1)
    covers = yamnet.covering(scores.starts_s, (edges[:-1] + edges[1:]) / 2)
    music_least, noise_least = (np.where(covers, values, np.inf).min(axis=1) for values in (music, noise))
    music_mean = covers @ music / covers.sum(axis=1)
    evidence = []
    for i, (start, end) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        samples = audio[int(round(start * sr)) : int(round(end * sr))]
        power = mean_square(samples)
        frames = probs[int(start / vad.FRAME_S) : max(int(start / vad.FRAME_S) + 1, int(np.ceil(end / vad.FRAME_S)))]
        evidence.append(Evidence(
            start=float(start), end=float(end),
            level_db=10 * np.log10(power) if power > 0 else -np.inf,
            speech_coverage=vad.coverage(spans, start, end),
            speech_probability=float(frames.mean()) if len(frames) else 0.0,
            music_score=float(music_least[i]),
            music_under_speech=float(music_mean[i]),
            noise_score=float(noise_least[i]),
        ))
    middles = (edges[: -1 : VOTES] + edges[VOTES::VOTES]) / 2
    half = TONE_WINDOW_S / 2
    tones = [tone(audio[max(0, int((middle - half) * sr)) : int((middle + half) * sr)], sr) for middle in middles]
    return evidence, spans, tones


def tone(samples: np.ndarray, sr: int) -> Tone:
    """samples: float32 [n] at ``sr`` Hz (any length; padded to one frame) → its :class:`Tone`."""
    samples = np.asarray(samples, np.float32)
    power = mean_square(samples)
    level = 10 * np.log10(power) if power > 0 else -np.inf
    samples = np.pad(samples, (0, max(0, _TONE_FFT - len(samples))))
    power = np.abs(librosa.stft(samples, n_fft=_TONE_FFT, hop_length=_TONE_FFT // 4, center=False)) ** 2
    spectrum = 10 * np.log10(power.mean(axis=1) + 1e-20)
    above = spectrum - scipy.ndimage.median_filter(spectrum, _TONE_MEDIAN_BINS)
    freqs = librosa.fft_frequencies(sr=sr, n_fft=_TONE_FFT)
    peaks = float(np.percentile(above[(freqs > _TONE_BAND_HZ[0]) & (freqs < _TONE_BAND_HZ[1])], 99))
    flux = np.maximum(np.diff(np.log(power + 1e-12), axis=1), 0).mean(axis=0)
    ratio = float(flux.max() / max(float(np.median(flux)), 1e-9)) if len(flux) else 1.0
    return Tone(level_db=level, peaks_db=peaks, flux_ratio=max(ratio, 1.0))


def by_tone(labels: list[str], tones: list[Tone], tone_db: tuple[float, float] = (TONELESS_DB, TONAL_DB)) -> list[str]:
    """Segment labels corrected by their spectra (see the module's text): music without tone
    or onset is noise; tonal noise that continues music is music. A spectrum measured under
    the silence floor (a pause at the segment's middle) corrects nothing. tone_db: the
    limits ``(TONELESS_DB, TONAL_DB)``."""
    floor = get_settings().region.floor_db
    toneless_db, tonal_db = tone_db
    labels = ["noise" if label == "music" and t.level_db >= floor and t.peaks_db < toneless_db
              and t.flux_ratio < STEADY_FLUX else label for label, t in zip(labels, tones, strict=True)]
    changed = True
    while changed:
        changed = False
        for i, (label, t) in enumerate(zip(labels, tones, strict=True)):
            if (label == "noise" and t.level_db >= floor and t.peaks_db >= tonal_db
                    and "music" in labels[max(0, i - 1) : i + 2]):
                labels[i], changed = "music", True
    return labels


def label_stretch(e: Evidence, music_score: float) -> tuple[str | None, float]:
    """(label, confidence) of one stretch; label None when it sounds but neither music
    nor any other sound is clearly heard."""
    floor = get_settings().region.floor_db
    if e.level_db < floor:
        return "silence", min(1.0, 0.5 + (floor - e.level_db) / (2 * _SILENCE_MARGIN_DB))
    speech = e.speech_coverage >= SPEECH_COVERAGE
    music = e.music_score >= music_score
    if speech and e.music_under_speech >= music_score:
        return "mixed", min(e.speech_probability, e.music_under_speech)
    if speech:
        return "speech", e.speech_probability
    if music:
        return "music", e.music_score
    if e.noise_score > e.music_score:
        return "noise", 1.0 - max(e.speech_probability, e.music_score)
    return None, 1.0 - max(e.speech_probability, e.music_score)


def label_region(timeline: list[dict[str, Any]], region_share: float) -> tuple[str, float]:
    """(label, confidence) of the region from its timeline."""
    sounding = [s for s in timeline if s["label"] != "silence"] or timeline
    counts = Counter(s["label"] for s in sounding)
    top, count = counts.most_common(1)[0]
    share = count / len(sounding)
    if share < region_share:
        return "mixed", 1.0 - share
    return top, share * float(np.mean([s["confidence"] for s in sounding if s["label"] == top]))


def describe(evidence: list[Evidence], spans: list[tuple[float, float]], tones: list[Tone], duration_s: float,
             music_score: float, region_share: float,
             tone_db: tuple[float, float] = (TONELESS_DB, TONAL_DB)) -> dict[str, Any]:
    """The plugin's result from measured evidence and the tuned thresholds."""
    votes = [label_stretch(e, music_score) for e in evidence]
    decided = [_majority(votes[first : first + VOTES]) for first in range(0, len(evidence), VOTES)]
    labels = by_tone([label for label, _ in decided], tones, tone_db)
    timeline = [{"start": round(evidence[first].start, 3), "end": round(evidence[first + VOTES - 1].end, 3),
                 "label": label, "confidence": round(confidence if label == voted else 1.0 - confidence, 3)}
                for first, label, (voted, confidence) in zip(range(0, len(evidence), VOTES), labels, decided,
                                                             strict=True)]
    label, confidence = label_region(timeline, region_share)
    music_time = sum(e.end - e.start for e, (vote, _) in zip(evidence, votes, strict=True)
                     if vote in ("music", "mixed"))
    return {
        "label": label,
        "confidence": round(float(confidence), 3),
        "timeline": timeline,
        "speech_ratio": round(vad.coverage(spans, 0.0, duration_s), 3),
        "music_ratio": round(music_time / duration_s, 3) if duration_s > 0 else 0.0,
        "speech_segments": [{"start": round(a, 3), "end": round(b, 3)} for a, b in spans],
        "model": {"yamnet": yamnet.model_name(), "vad": vad.model_name()},
    }


def _majority(votes: list[tuple[str | None, float]]) -> tuple[str, float]:
    """(label, confidence) of a segment from its stretches' votes: the most common label
    among the decided ones (the earliest of equals), its share times its votes' mean
    confidence; ``noise`` when none is decided."""
    counts = Counter(label for label, _ in votes if label is not None)
    if not counts:
        return "noise", float(np.mean([c for _, c in votes]))
    top, count = counts.most_common(1)[0]
    return top, count / len(votes) * float(np.mean([c for label, c in votes if label == top]))
