"""The classifier on rendered instruments, speech, loops and drum one-shots."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.config import SAMPLE_RATE
from core.plugin import Context
from core.tasks import to_jsonable
from plugins.classifier import MIN_PROBABILITY, Classifier, sample_type
from tests import audio_corpus as ac
from tests import audio_factory as af

SR = SAMPLE_RATE
CTX = Context(file_path="x.wav", region_index=0, start_s=0.0)
GROUPS = {"instrument", "instrument_family", "genre", "mood", "vocal", "sound_effect"}


@pytest.fixture(scope="module")
def plugin() -> Classifier:
    classifier = Classifier()
    classifier.warm_up(SR)
    return classifier


@pytest.mark.parametrize("family", list(ac.INSTRUMENTS))
def test_the_instrument_is_among_the_first_five_instruments(plugin: Classifier, family: str) -> None:
    found = 0
    for index in range(3):
        tags = plugin.analyze(ac.instrument(family, index, "eval"), SR, CTX)["tags"]
        instruments = [t["tag"] for t in tags if t["group"] == "instrument"]
        assert not set(instruments) & {"Musical instrument", "Keyboard (musical)", "Percussion"}  # families apart
        found += bool(set(instruments[:5]) & set(ac.INSTRUMENT_TAGS[family]))
    assert found >= 2


@pytest.mark.skipif(not af.espeak_available(), reason="espeak-ng speaks the test speech (make test)")
def test_speech_is_a_vocal_tag_and_tags_are_grouped(plugin: Classifier) -> None:
    result = plugin.analyze(ac.speech(0, "eval"), SR, CTX)
    assert result["tags"][0] == {**result["tags"][0], "tag": "Speech", "group": "vocal", "source": "yamnet"}
    assert {t["group"] for t in result["tags"]} <= GROUPS
    yamnet_tags = [t for t in result["tags"] if t["source"] == "yamnet"]
    assert result["tags"][: len(yamnet_tags)] == yamnet_tags  # then musicnn's: tests/plugins/test_classifier_musicnn.py
    probabilities = [t["probability"] for t in yamnet_tags]
    assert probabilities == sorted(probabilities, reverse=True) and min(probabilities) >= MIN_PROBABILITY
    assert result["sample_type"] == "other" and result["drum_type"] is None
    json.dumps(to_jsonable(result), allow_nan=False)


def test_one_shots_and_loops() -> None:
    assert sample_type(ac.drum_hit("snare", 0), SR)["sample_type"] == "one_shot"
    loop = sample_type(af.rhythm(120, 4, 8.0, SR), SR)
    assert loop["sample_type"] == "loop" and loop["periodicity"] > 0.5 and loop["onset_count"] >= 8
    assert sample_type(af.music(75.0, SR), SR)["sample_type"] == "other"  # longer than a loop
    assert sample_type(af.silence(0.02, SR), SR)["sample_type"] == "one_shot"


def test_drum_types_of_a_held_out_kit(plugin: Classifier) -> None:
    answers = [(kind, plugin.analyze(ac.drum_hit(kind, 32, note), SR, CTX)["drum_type"])
               for kind in ("kick", "snare", "tom", "perc") for note in range(2)]
    assert np.mean([truth == answer for truth, answer in answers]) >= 0.75, answers


def test_no_drum_type_for_a_sustained_sound(plugin: Classifier) -> None:
    result = plugin.analyze(af.tone(440, 2.0, SR), SR, CTX)
    assert result["sample_type"] == "one_shot" and result["drum_type"] is None  # its peak is not at once


@pytest.mark.slow
def test_drum_type_accuracy_on_held_out_kits(plugin: Classifier) -> None:
    answers = [(kind, plugin.analyze(audio, SR, CTX)["drum_type"])
               for kit in ac.DRUM_KITS["eval"] for (kind, _), audio in ac.drum_hits(kit).items()]
    assert np.mean([truth == answer for truth, answer in answers]) >= 0.7
