"""Windows of a region at another rate match the whole region resampled at once."""

from __future__ import annotations

import numpy as np
import soxr

from core import windows
from tests import audio_factory as af


def test_a_window_matches_the_whole_resampled() -> None:
    audio = af.music(6.0, 22_050)
    whole = soxr.resample(audio, 22_050, 16_000)
    for start in (0, 7_001, 50_000):
        part = windows.window(audio, 22_050, 16_000, start, start + 20_000)
        assert np.abs(part - whole[start : start + 20_000]).max() < 1e-5
    blocks = np.concatenate(list(windows.blocks(audio, 22_050, 16_000, 16_000)))
    assert len(blocks) == 96_000 and np.abs(blocks[: len(whole)] - whole).max() < 1e-5


def test_past_the_end_is_zero_and_equal_rates_are_sliced() -> None:
    audio = np.ones(1000, np.float32)
    assert windows.window(audio, 16_000, 16_000, 900, 1100).tolist() == [1.0] * 100 + [0.0] * 100
    assert not windows.window(audio, 22_050, 16_000, 5000, 5100).any()
    assert windows.length_at(22_050, 22_050, 16_000) == 16_000
