"""BS.1770 loudness against theory and against pyloudnorm."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from core.loudness import integrated_lufs
from tests import audio_factory as af


def test_a_997_hz_sine_matches_the_standard() -> None:
    """BS.1770: a full-scale 997 Hz sine in one channel reads -3.01 LUFS."""
    sine = af.tone(997, 5.0, sr=48_000, amp=1.0)
    assert integrated_lufs([sine], 48_000) == pytest.approx(-3.01, abs=0.05)


@pytest.mark.parametrize("sr", [22_050, 44_100])
def test_agrees_with_pyloudnorm_on_music_with_a_quiet_passage(sr: int) -> None:
    signal = af.music(8.0, sr=sr)
    signal[2 * sr : 4 * sr] *= 0.01  # a passage the relative gate drops
    reference = pyloudnorm.Meter(sr).integrated_loudness(signal.astype(np.float64))
    assert integrated_lufs([signal], sr) == pytest.approx(reference, abs=0.15)


def test_chunking_does_not_change_the_result() -> None:
    signal = af.noise(10.0, sr=22_050, amp=0.2)
    whole = integrated_lufs([signal], 22_050)
    pieces = integrated_lufs([signal[i : i + 7777] for i in range(0, len(signal), 7777)], 22_050)
    assert pieces == pytest.approx(whole, abs=1e-6)


def test_too_short_or_too_quiet_gives_none() -> None:
    assert integrated_lufs([af.tone(440, 0.3, sr=22_050)], 22_050) is None
    assert integrated_lufs([af.silence(2.0, sr=22_050)], 22_050) is None
    assert integrated_lufs([], 22_050) is None


def test_two_channels_sum_their_power_as_pyloudnorm_does() -> None:
    sr = 44_100
    stereo = np.stack([af.music(6.0, sr=sr, seed=2), 0.3 * af.noise(6.0, sr=sr, seed=3)], axis=1)
    reference = pyloudnorm.Meter(sr).integrated_loudness(stereo.astype(np.float64))
    assert integrated_lufs([stereo[:100_000], stereo[100_000:]], sr) == pytest.approx(reference, abs=0.15)
