"""The content plugin on generated speech, music, noise, silence and speech over music."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.config import SAMPLE_RATE
from core.plugin import Context
from core.tasks import to_jsonable
from plugins.content import (
    MUSIC_SCORE,
    REGION_SHARE,
    SEGMENTS,
    TONAL_DB,
    TONELESS_DB,
    VOTES,
    Content,
    Evidence,
    Tone,
    by_tone,
    describe,
    label_stretch,
    tone,
)
from tests import audio_corpus as ac
from tests import audio_factory as af

SR = SAMPLE_RATE
CTX = Context(file_path="x.wav", region_index=0, start_s=0.0)
pytestmark = pytest.mark.skipif(not af.espeak_available(), reason="espeak-ng speaks the test speech (make test)")


@pytest.fixture(scope="module")
def plugin() -> Content:
    content = Content()
    content.warm_up(SR)
    return content


@pytest.mark.parametrize("label", ac.CONTENT_LABELS)
def test_each_kind_of_clip_is_labelled(plugin: Content, label: str) -> None:
    for index in range(2):
        result = plugin.analyze(ac.GENERATORS[label](index, "eval"), SR, CTX)
        assert result["label"] == label, (index, result["timeline"])
        assert 0 < result["confidence"] <= 1


def test_speech_and_music_ratios(plugin: Content) -> None:
    speech = plugin.analyze(ac.speech(3, "eval"), SR, CTX)
    music = plugin.analyze(ac.music(3, "eval"), SR, CTX)
    assert speech["speech_ratio"] > 0.6 and speech["music_ratio"] < 0.2
    assert music["music_ratio"] > 0.8 and music["speech_ratio"] < 0.1
    assert speech["speech_segments"] and all(s["end"] > s["start"] for s in speech["speech_segments"])


@pytest.mark.parametrize("index", [4, 5, 6])
def test_timeline_boundaries_of_speech_then_music_then_noise(plugin: Content, index: int) -> None:
    audio, bounds = ac.sequence([ac.speech(index, "eval")[: 4 * SR], ac.music(index, "eval", 4.0),
                                 ac.noise(index, "eval", 4.0)])
    result = plugin.analyze(audio, SR, CTX)
    timeline = result["timeline"]
    width = len(audio) / SR / SEGMENTS
    assert len(timeline) == SEGMENTS and timeline[0]["start"] == 0
    assert timeline[-1]["end"] == pytest.approx(len(audio) / SR, abs=1e-3)
    assert all(a["end"] == b["start"] for a, b in zip(timeline, timeline[1:], strict=False))
    assert timeline[0]["label"] == "speech"
    for label, bound in zip(("music", "noise"), bounds, strict=True):
        first = next(s["start"] for s in timeline if s["label"] == label)
        assert abs(first - bound) <= width, [s["label"] for s in timeline]
    assert result["label"] == "mixed"


def _stretch(level_db: float = -20.0, speech: float = 0.0, music: float = 0.0, noise: float = 0.0) -> Evidence:
    return Evidence(start=0.0, end=0.1, level_db=level_db, speech_coverage=speech, speech_probability=speech,
                    music_score=music, music_under_speech=music, noise_score=noise)


def test_a_segment_takes_the_label_of_most_of_its_decided_stretches() -> None:
    music, unclear, noise, quiet = _stretch(music=0.9), _stretch(music=0.1, noise=0.05), _stretch(noise=0.6), \
        _stretch(level_db=-90.0)
    assert label_stretch(unclear, MUSIC_SCORE)[0] is None
    assert [label_stretch(s, MUSIC_SCORE)[0] for s in (music, noise, quiet)] == ["music", "noise", "silence"]
    assert label_stretch(_stretch(speech=1.0, music=0.9), MUSIC_SCORE)[0] == "mixed"
    segments = [[music] * 3 + [unclear] * 5, [music] * 3 + [noise] * 5, [unclear] * VOTES, [quiet] * 5 + [noise] * 3]
    evidence = [stretch for segment in segments for stretch in segment]
    evidence += [music] * (SEGMENTS * VOTES - len(evidence))
    between = Tone(level_db=-20.0, peaks_db=(TONELESS_DB + TONAL_DB) / 2, flux_ratio=5.0)  # corrects nothing
    timeline = describe(evidence, [], [between] * SEGMENTS, 1.9, MUSIC_SCORE, REGION_SHARE)["timeline"]
    assert [s["label"] for s in timeline[:4]] == ["music", "noise", "noise", "silence"]
    assert timeline[0]["confidence"] == pytest.approx(3 / VOTES * 0.9, abs=1e-3)


def test_the_spectrum_tells_a_tone_from_noise_and_onsets_from_a_steady_sound() -> None:
    rng = np.random.default_rng(0)
    chord = sum(af.tone(f, 0.5, SR) for f in (220.0, 277.2, 329.6)) / 3
    noise = rng.normal(0, 0.1, SR // 2).astype(np.float32)
    hits = noise * np.resize(np.exp(-np.arange(SR // 8) / (0.01 * SR)), SR // 2).astype(np.float32)
    assert tone(chord, SR).peaks_db > TONAL_DB and tone(noise, SR).peaks_db < TONELESS_DB
    assert tone(noise, SR).flux_ratio < 3 < tone(hits, SR).flux_ratio
    assert tone(np.zeros(10, np.float32), SR).level_db == -np.inf


def test_segments_corrected_by_their_spectra() -> None:
    toneless, tonal, hits = (Tone(level_db=-20.0, peaks_db=2.0, flux_ratio=1.2),
                             Tone(level_db=-20.0, peaks_db=30.0, flux_ratio=1.2),
                             Tone(level_db=-20.0, peaks_db=2.0, flux_ratio=20.0))
    silent = Tone(level_db=-np.inf, peaks_db=0.0, flux_ratio=1.0)
    # music without tone or onset is noise; with onsets (drums) or silent at its middle it stays
    assert by_tone(["music", "music", "music"], [toneless, hits, silent]) == ["noise", "music", "music"]
    # tonal noise that continues music is music, along a run of it; alone it stays noise
    assert by_tone(["music", "noise", "noise", "speech", "noise"], [tonal] * 5) == \
        ["music", "music", "music", "speech", "noise"]
    assert by_tone(["noise", "noise"], [tonal, tonal]) == ["noise", "noise"]
    assert by_tone(["music", "noise"], [tonal, toneless]) == ["music", "noise"]


def test_a_tiny_or_silent_region_does_not_fail(plugin: Content) -> None:
    assert plugin.analyze(af.silence(0.01, SR), SR, CTX)["label"] == "silence"
    assert plugin.analyze(af.tone(440, 0.01, SR), SR, CTX)["timeline"][0]["start"] == 0


def test_the_result_is_strict_json_with_its_models(plugin: Content) -> None:
    result = plugin.analyze(ac.speech(0, "eval"), SR, CTX)
    json.dumps(to_jsonable(result), allow_nan=False)
    assert result["model"]["yamnet"].startswith("yamnet") and result["model"]["vad"].startswith("silero-vad")


def test_summary_takes_the_label_covering_the_most_time() -> None:
    results = [{"label": "speech"}, {"label": "music"}, {"label": "speech"}]
    assert Content.summarize(results, [1.0, 5.0, 1.0]) == {"content": "music"}
    assert Content.summarize([], []) == {}


@pytest.mark.slow
def test_ten_held_out_clips_of_each_kind(plugin: Content) -> None:
    clips = ac.content_clips(10, "eval")
    right = [plugin.analyze(clip.audio, SR, CTX)["label"] == clip.label for clip in clips]
    assert np.mean(right) >= 0.95


@pytest.mark.slow
def test_timeline_boundaries_of_ten_held_out_files(plugin: Content) -> None:
    """Issue 10's measure at a smaller scale: where the music and the noise start, within one
    segment (content 1.2.0: 80 of 80 boundaries of the evaluation split's 40 files; 1.1.0,
    without the spectral correction: 75 of 80, 16 of these 20)."""
    within = []
    for index in range(10):
        audio, bounds = ac.sequence([ac.speech(index, "eval")[: 4 * SR], ac.music(index, "eval", 4.0),
                                     ac.noise(index, "eval", 4.0)])
        timeline = plugin.analyze(audio, SR, CTX)["timeline"]
        width = len(audio) / SR / SEGMENTS
        within += [abs(next((s["start"] for s in timeline if s["label"] == label), np.inf) - bound) <= width
                   for label, bound in zip(("music", "noise"), bounds, strict=True)]
    assert np.mean(within) >= 0.95
