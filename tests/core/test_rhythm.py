"""Metre from beat times: compound division, octave and bar-length checks."""

from __future__ import annotations

import numpy as np
import pytest

from core import rhythm
from plugins.tempo_meter import _ONSET_HOP, onset_envelope
from tests import audio_factory as af

SR = 22_050
FPS = 100


def _activation(peaks_s: np.ndarray, seconds: float, height: float = 1.0) -> np.ndarray:
    """float32 [frames at FPS] with a peak of ``height`` at each time."""
    out = np.zeros(int(seconds * FPS), np.float32)
    out[np.round(peaks_s * FPS).astype(int)] = height
    return out


@pytest.mark.parametrize(("bpm", "beats_per_bar", "division", "expected"), [
    (66, 2, 3, 3), (90, 3, 3, 3), (120, 4, 3, 3), (100, 3, 2, 2), (128, 2, 2, 2), (72, 4, 1, 2), (150, 4, 2, 2),
])
def test_beat_division_tells_compound_from_simple(bpm: float, beats_per_bar: int, division: int,
                                                  expected: int) -> None:
    audio = af.rhythm(bpm, beats_per_bar, 12.0, SR, division=division)
    beats = np.arange(0, 11.5, 60 / bpm)
    assert rhythm.beat_division(beats, onset_envelope(audio, SR), _ONSET_HOP / SR) == expected


def test_beat_division_needs_beats_and_onsets() -> None:
    assert rhythm.beat_division(np.array([1.0]), np.ones(100), 0.01) == 2
    assert rhythm.beat_division(np.arange(10.0), np.zeros(0), 0.01) == 2


def test_skipped_beats_are_found_from_the_activation_between_tracked_beats() -> None:
    true_beats = np.arange(0.5, 19.0, 0.5)  # 120 bpm
    activation = _activation(true_beats, 20.0)
    assert rhythm.skipped_beats(true_beats[::2], activation, FPS)  # tracked at 60 bpm
    assert not rhythm.skipped_beats(true_beats, activation, FPS)
    assert not rhythm.skipped_beats(true_beats[:3], activation, FPS)


def test_two_bars_of_two_are_split_and_four_beat_bars_kept() -> None:
    beats = np.arange(0.5, 19.0, 0.5)
    four = beats[::4]
    assert rhythm.bar_length(beats, four) == 4
    two_beat_bars = _activation(beats[::2], 20.0)
    split = rhythm.split_bars(beats, four, two_beat_bars, FPS)
    assert rhythm.bar_length(beats, split) == 2 and set(four) <= set(split)
    weak_third = _activation(four, 20.0) + _activation(beats[2::4], 20.0, height=0.2)
    assert np.array_equal(rhythm.split_bars(beats, four, weak_third, FPS), four)
    assert np.array_equal(rhythm.split_bars(beats, beats[::3], two_beat_bars, FPS), beats[::3])


def test_describe_names_simple_and_compound_metres() -> None:
    beats = np.arange(0.0, 10.0, 0.75)  # 80 bpm
    simple = rhythm.describe(beats, beats[::3])
    assert simple["bpm"] == pytest.approx(80) and simple["time_signature"] == "3/4" and simple["beats_per_bar"] == 3
    compound = rhythm.describe(beats, beats[::2], division=3)
    assert compound["time_signature"] == "6/8" and compound["beats_per_bar"] == 6
    assert rhythm.describe(beats, None)["time_signature"] is None
    assert rhythm.describe(beats, beats[::2], division=3)["confidence"] == 1.0


def test_too_few_beats_have_no_tempo() -> None:
    with pytest.raises(rhythm.NoTempo, match="beats were found"):
        rhythm.describe(np.array([0.5, 1.0]), None)
