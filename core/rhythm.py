"""Tempo and metre from beat times: bar length, compound metre, and the checks that
correct a beat tracker's octave and bar-length errors.

Times are seconds. ``beat_activation`` / ``downbeat_activation`` are float32 [frames]
at ``fps`` frames per second (a beat tracker's per-frame probabilities); ``onsets`` is
an onset-strength envelope float32 [frames] with frame ``i`` at ``i * hop_s`` seconds.

The thresholds below were chosen on the tuning split of bench/corpus.py's rhythm clips
(other tempos and velocities than the evaluation split that bench/accuracy.py reports):
halfway beat activation 0.002–0.015 where the tempo was right and 0.23 where the tracker
took every other beat; activation on the third beat of a four-beat bar 0.07–0.28 in
4/4 and 0.65–1.0 where the bar was two bars of two.
"""

from __future__ import annotations

import numpy as np

#: The tracker took every other beat when the activation halfway between its beats
#: reaches this share of the activation on them.
SKIPPED_BEAT_RATIO = 0.1
#: A four-beat bar is two bars of two when its third beat carries this share of the
#: downbeat activation of its first.
SPLIT_BAR_RATIO = 0.5
#: Onsets at the thirds of a beat must reach this share of those on it to make the
#: metre compound.
SUBDIVISION_FLOOR = 0.1
#: Beats per bar a tracker may report (simple metres).
BAR_LENGTHS = (2, 3, 4)
#: Inter-beat intervals within this share of the median count as steady.
STEADY = 0.04
_PHASE_BINS = 24


class NoTempo(ValueError):
    """Too few beats for a tempo."""


def _peaks(activation: np.ndarray, times: np.ndarray, fps: float, radius: int = 3) -> np.ndarray:
    """The largest activation within ``radius`` frames of each time."""
    frames = np.round(np.asarray(times) * fps).astype(int)
    frames = frames[(frames >= 0) & (frames < len(activation))]
    return np.array([activation[max(0, f - radius) : f + radius + 1].max() for f in frames])


def skipped_beats(beats: np.ndarray, beat_activation: np.ndarray, fps: float) -> bool:
    """True when the tracker followed every other beat (half the tempo): the activation
    halfway between its beats is at least SKIPPED_BEAT_RATIO of that on them."""
    if len(beats) < 4:
        return False
    halfway = beats[:-1] + np.diff(beats) / 2
    on = _peaks(beat_activation, beats, fps).mean()
    return bool(on > 0 and _peaks(beat_activation, halfway, fps).mean() >= SKIPPED_BEAT_RATIO * on)


def bar_length(beats: np.ndarray, downbeats: np.ndarray) -> int | None:
    """The most common number of beats from one downbeat to the next (2, 3 or 4)."""
    counts = [int(np.sum((beats >= a) & (beats < b))) for a, b in zip(downbeats, downbeats[1:], strict=False)]
    counts = [c for c in counts if c in BAR_LENGTHS]
    return max(set(counts), key=counts.count) if counts else None


def split_bars(beats: np.ndarray, downbeats: np.ndarray, downbeat_activation: np.ndarray,
               fps: float) -> np.ndarray:
    """Downbeats, with four-beat bars that are two bars of two split in the middle
    (when the third beat carries SPLIT_BAR_RATIO of the first's downbeat activation)."""
    if bar_length(beats, downbeats) != 4:
        return downbeats
    index = np.searchsorted(beats, downbeats)
    thirds = np.array([beats[i + 2] for i in index if i + 2 < len(beats)])
    if not len(thirds):
        return downbeats
    first = _peaks(downbeat_activation, downbeats, fps).mean()
    if first <= 0 or _peaks(downbeat_activation, thirds, fps).mean() < SPLIT_BAR_RATIO * first:
        return downbeats
    return np.sort(np.concatenate([downbeats, thirds]))


def beat_division(beats: np.ndarray, onsets: np.ndarray, hop_s: float) -> int:
    """3 when the beat divides in three (compound metre: 6/8, 9/8, 12/8), else 2.

    The onset envelope is folded onto one beat (24 phase bins, aligned on its strongest
    bin near the beat) and the onsets at a third and two thirds of the beat are compared
    with those at the half: whichever division carries more onset strength wins, and
    a division in three needs SUBDIVISION_FLOOR of the onset strength on the beat (a
    beat with nothing inside it is not compound).
    """
    if len(beats) < 3 or len(onsets) < 2:
        return 2
    grid = np.concatenate([np.linspace(a, b, _PHASE_BINS, endpoint=False) for a, b in zip(beats, beats[1:],
                                                                                          strict=False)])
    pattern = np.interp(grid, np.arange(len(onsets)) * hop_s, onsets).reshape(-1, _PHASE_BINS).mean(axis=0)
    reach = _PHASE_BINS // 6
    offset = int(np.argmax(np.roll(pattern, reach)[: 2 * reach + 1])) - reach  # the tracker's lead or lag
    pattern = np.roll(pattern, -offset)

    def strength(position: float) -> float:
        centre = int(round(position * _PHASE_BINS))
        return float(pattern.take(range(centre - 1, centre + 2), mode="wrap").max())

    thirds, half = (strength(1 / 3) + strength(2 / 3)) / 2, strength(1 / 2)
    return 3 if thirds > half and thirds >= SUBDIVISION_FLOOR * strength(0.0) else 2


def describe(beats: np.ndarray, downbeats: np.ndarray | None, division: int = 2) -> dict:
    """bpm, confidence and metre from beat (and downbeat) times in seconds.

    division: 3 for a compound metre, whose time signature counts eighth notes
    (two beats of a dotted quarter = 6/8), else 2.
    Raises: NoTempo with fewer than four beats.
    """
    if len(beats) < 4:
        raise NoTempo(f"only {len(beats)} beats were found: no steady tempo")
    intervals = np.diff(beats)
    median = float(np.median(intervals))
    steady = np.abs(intervals - median) <= STEADY * median
    bar = bar_length(beats, downbeats) if downbeats is not None and len(downbeats) >= 2 else None
    signature = None
    if bar:
        signature = f"{bar * 3}/8" if division == 3 else f"{bar}/4"
    return {
        "bpm": round(60.0 / float(np.mean(intervals[steady])), 2),
        "confidence": float(np.mean(steady)),
        "beats": np.round(beats, 3),
        "downbeats": None if downbeats is None else np.round(downbeats, 3),
        "beats_per_bar": int(signature.split("/")[0]) if signature else None,
        "time_signature": signature,
    }
