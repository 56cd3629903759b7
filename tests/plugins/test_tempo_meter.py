"""Tempo and metre on drum patterns of known tempo and bar length."""

from __future__ import annotations

import numpy as np
import pytest

from bench import corpus
from core.audio import decode
from core.config import SAMPLE_RATE
from core.plugin import Context, NotApplicable
from plugins import tempo_meter
from plugins.tempo_meter import TempoMeter
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


def test_too_few_beats_is_not_applicable(plugin: TempoMeter) -> None:
    with pytest.raises(NotApplicable, match="beats were found"):
        plugin.analyze(af.clicks(1.0, 4.5, SR) * 0.0, SR, CTX)


@pytest.mark.slow
@pytest.mark.parametrize("bpm", [64, 88])
def test_compound_metre_of_a_rendered_six_eight_pattern(plugin: TempoMeter, bpm: int, tmp_path) -> None:
    """Drums, bass and chords in 6/8 rendered by fluidsynth: the beat is the dotted quarter."""
    midi = tmp_path / "six_eight.mid"
    corpus.rhythm_midi("6/8", bpm, 20.0, seed=bpm).save(midi)
    audio = decode(corpus.render(midi, tmp_path / "six_eight.wav"), SR)
    result = plugin.analyze(audio, SR, CTX)
    assert result["bpm"] == pytest.approx(bpm, rel=0.04)
    # Compound either way; two bars of 6/8 sound like one of 12/8, as 2/4 does like 4/4
    # (bench/accuracy.py counts only the exact bar length).
    assert (result["time_signature"], result["beats_per_bar"]) in {("6/8", 6), ("12/8", 12)}
    beats_per_downbeat = len(result["beats"]) / len(result["downbeats"])
    assert beats_per_downbeat == pytest.approx(result["beats_per_bar"] / 3, rel=0.15)


def test_madmom_failure_falls_back_to_librosa(plugin: TempoMeter, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("network file unreadable")

    monkeypatch.setattr(plugin, "activation", broken)
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
