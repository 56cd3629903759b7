"""The features plugin on signals whose features are known."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from core.config import SAMPLE_RATE
from core.plugin import Context
from plugins.features import Features
from tests import audio_factory as af

SR = SAMPLE_RATE
CTX = Context(file_path="x.wav", region_index=0, start_s=0.0)


@pytest.fixture(scope="module")
def plugin() -> Features:
    return Features()


def test_a_pure_tone(plugin: Features) -> None:
    result = plugin.analyze(af.tone(440, 3.0, SR, amp=0.5), SR, CTX)
    assert result["duration_s"] == pytest.approx(3.0)
    assert result["peak_dbfs"] == pytest.approx(-6.02, abs=0.05)
    assert result["rms_dbfs"] == pytest.approx(-9.03, abs=0.05)
    assert result["crest_db"] == pytest.approx(3.01, abs=0.1)
    assert result["spectral_centroid_hz"]["mean"] == pytest.approx(440, rel=0.1)
    assert result["spectral_flatness"]["mean"] < 0.01
    assert result["zero_crossing_rate"]["mean"] == pytest.approx(2 * 440 / SR, rel=0.05)
    assert int(np.argmax(result["chroma_mean"])) == 9  # A
    assert len(result["mfcc_mean"]) == len(result["mfcc_std"]) == 13 and len(result["chroma_mean"]) == 12


def test_noise_is_flat_and_bright(plugin: Features) -> None:
    result = plugin.analyze(af.noise(3.0, SR, amp=0.2), SR, CTX)
    assert result["spectral_flatness"]["mean"] > 0.3
    assert result["spectral_centroid_hz"]["mean"] > 4000
    assert result["spectral_rolloff_hz"]["mean"] > 8000


def test_onset_rate_counts_hits(plugin: Features) -> None:
    result = plugin.analyze(af.clicks(4.0, 5.0, SR), SR, CTX)
    assert result["onset_count"] == pytest.approx(20, abs=2)
    assert result["onset_rate_hz"] == pytest.approx(4.0, abs=0.4)


def test_loudness_matches_pyloudnorm(plugin: Features) -> None:
    music = af.music(6.0, SR)
    result = plugin.analyze(music, SR, CTX)
    assert result["loudness_lufs"] == pytest.approx(
        pyloudnorm.Meter(SR).integrated_loudness(music.astype(np.float64)), abs=0.15
    )


def test_long_regions_are_chunked_without_changing_the_answer(plugin: Features) -> None:
    music = af.music(75.0, SR)  # three chunks of 30 s
    whole = plugin.analyze(music, SR, CTX)
    first_part = plugin.analyze(music[: 30 * SR], SR, CTX)
    assert whole["duration_s"] == pytest.approx(75.0)
    assert whole["onset_rate_hz"] == pytest.approx(first_part["onset_rate_hz"], rel=0.1)
    assert whole["spectral_centroid_hz"]["mean"] == pytest.approx(first_part["spectral_centroid_hz"]["mean"], rel=0.1)


def test_tiny_and_silent_regions_do_not_fail(plugin: Features) -> None:
    tiny = plugin.analyze(af.tone(440, 0.01, SR), SR, CTX)
    assert tiny["loudness_lufs"] is None and tiny["duration_s"] == pytest.approx(0.01, abs=1e-4)
    silent = plugin.analyze(af.silence(1.0, SR), SR, CTX)
    assert silent["peak_dbfs"] == -200.0 and silent["crest_db"] == 0.0
    assert silent["chroma_mean"] == pytest.approx([0.0] * 12)


def test_summary_averages_loudness_in_power_weighted_by_length() -> None:
    summary = Features.summarize(
        [{"loudness_lufs": -10.0, "peak_dbfs": -1.0}, {"loudness_lufs": -20.0, "peak_dbfs": -3.0},
         {"loudness_lufs": None, "peak_dbfs": -30.0}],
        [1.0, 1.0, 0.2],
    )
    assert summary["loudness_lufs"] == pytest.approx(10 * np.log10((0.1 + 0.01) / 2))
    assert summary["peak_dbfs"] == -1.0
    assert Features.summarize([], []) == {}


def test_warm_up_runs(plugin: Features) -> None:
    plugin.warm_up(SR)
