"""Tempo and metre on drum patterns of known tempo and bar length."""

from __future__ import annotations

import numpy as np
import pytest

from core.config import SAMPLE_RATE
from core.plugin import Context, NotApplicable
from plugins import tempo_meter
from plugins.tempo_meter import TempoMeter, describe
from tests import audio_factory as af

SR = SAMPLE_RATE
CTX = Context(file_path="x.wav", region_index=0, start_s=0.0)


@pytest.fixture(scope="module")
def plugin() -> TempoMeter:
    meter = TempoMeter()
    meter.warm_up(SR)
    return meter


@pytest.mark.slow
@pytest.mark.parametrize(("bpm", "beats_per_bar"), [(72, 4), (96, 3), (120, 4), (140, 3), (174, 4), (128, 2)])
def test_tempo_and_bar_length_of_drum_patterns(plugin: TempoMeter, bpm: float, beats_per_bar: int) -> None:
    result = plugin.analyze(af.rhythm(bpm, beats_per_bar, 20.0, SR), SR, CTX)
    assert result["method"] == "madmom"
    assert result["bpm"] == pytest.approx(bpm, rel=0.04)
    # Two beats to the bar sound the same as four with the kick on 1 and 3: either is right.
    allowed = {2, 4} if beats_per_bar == 2 else {beats_per_bar}
    assert result["beats_per_bar"] in allowed and result["time_signature"] == f"{result['beats_per_bar']}/4"
    assert result["confidence"] > 0.9
    assert np.diff(result["beats"]).mean() == pytest.approx(60 / bpm, rel=0.04)
    assert set(result["downbeats"]) <= set(result["beats"])


@pytest.mark.slow
def test_long_regions_are_tracked_in_chunks_without_seams(plugin: TempoMeter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempo_meter, "CHUNK_S", 20.0)
    monkeypatch.setattr(tempo_meter, "TRACK_S", 30.0)
    result = plugin.analyze(af.rhythm(110, 4, 75.0, SR), SR, CTX)
    gaps = np.diff(result["beats"])
    beat_s = 60 / 110
    assert result["bpm"] == pytest.approx(110, rel=0.03)
    assert gaps.min() > 0.6 * beat_s and gaps.max() < 1.5 * beat_s  # no beat doubled or lost at a seam
    assert result["beats"][-1] > 75.0 - 2 * beat_s
    assert result["beats_per_bar"] == 4


def test_too_few_beats_is_not_applicable() -> None:
    with pytest.raises(NotApplicable, match="beats were found"):
        describe(np.array([0.5, 1.0]), None)


def test_madmom_failure_falls_back_to_librosa(plugin: TempoMeter, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("network file unreadable")

    monkeypatch.setattr(plugin, "_madmom_beats", broken)
    result = plugin.analyze(af.rhythm(120, 4, 12.0, SR), SR, CTX)
    assert result["method"] == "librosa" and "network file unreadable" in result["fallback_reason"]
    assert result["bpm"] == pytest.approx(120, rel=0.04)
    assert result["beats_per_bar"] is None and result["downbeats"] is None


def test_madmom_imports_through_the_shim() -> None:
    assert tempo_meter.import_madmom().__version__ == "0.17.post1"


def test_summary_takes_the_longest_region() -> None:
    results = [{"bpm": 90.0, "time_signature": "3/4"}, {"bpm": 120.0, "time_signature": "4/4"}]
    assert TempoMeter.summarize(results, [5.0, 30.0]) == {"bpm": 120.0, "time_signature": "4/4"}
    assert TempoMeter.summarize([], []) == {}
