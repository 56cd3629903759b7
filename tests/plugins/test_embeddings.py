"""The embeddings plugin: gain invariance, separation of different sounds, encoding."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core import yamnet
from core.config import SAMPLE_RATE
from core.plugin import Context
from core.tasks import to_jsonable
from plugins import embeddings
from plugins.embeddings import Embeddings, decode, encode
from tests import audio_corpus as ac
from tests import audio_factory as af

SR = SAMPLE_RATE
CTX = Context(file_path="x.wav", region_index=0, start_s=0.0)


@pytest.fixture(scope="module")
def plugin() -> Embeddings:
    plugin = Embeddings()
    plugin.warm_up(SR)
    return plugin


@pytest.fixture(scope="module")
def clips() -> dict[str, np.ndarray]:
    return {"music": ac.music(1, "eval"), "noise": ac.noise(2, "eval"), "piano": ac.instrument("piano", 0, "eval"),
            "drums": af.rhythm(100, 4, 5.0, SR)}


def cosine(a: dict, b: dict) -> float:
    return float(decode(a) @ decode(b))


def test_the_same_clip_at_another_gain_is_the_same_vector(plugin: Embeddings, clips: dict) -> None:
    for audio in clips.values():
        loud, quiet = plugin.analyze(audio, SR, CTX), plugin.analyze(audio * 0.25, SR, CTX)
        assert cosine(loud["yamnet"], quiet["yamnet"]) > 0.99
        assert cosine(loud["features"], quiet["features"]) > 0.99


def test_different_sounds_are_further_apart(plugin: Embeddings, clips: dict) -> None:
    vectors = {name: plugin.analyze(audio, SR, CTX) for name, audio in clips.items()}
    names = list(vectors)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert cosine(vectors[a]["yamnet"], vectors[b]["yamnet"]) < 0.9, (a, b)
            assert cosine(vectors[a]["features"], vectors[b]["features"]) < 0.99, (a, b)


def test_vectors_carry_their_model_and_are_compact_json(plugin: Embeddings) -> None:
    result = plugin.analyze(af.tone(440, 0.3, SR), SR, CTX)
    assert (result["yamnet"]["dim"], result["features"]["dim"]) == (1024, 38)
    assert result["yamnet"]["model"] == yamnet.model_name() and "librosa" in result["features"]["model"]
    assert len(json.dumps(to_jsonable(result), allow_nan=False)) < 4000
    assert np.linalg.norm(decode(result["yamnet"])) == pytest.approx(1.0, abs=1e-3)


def test_encoding_round_trips_and_silence_is_allowed(plugin: Embeddings) -> None:
    vector = np.random.default_rng(0).normal(size=50)
    assert decode(encode(vector, "m")) == pytest.approx(vector / np.linalg.norm(vector), abs=1e-3)
    silent = plugin.analyze(af.silence(1.0, SR), SR, CTX)
    assert silent["yamnet"]["dim"] == 1024 and silent["features"]["dim"] == 38


def test_without_yamnet_the_feature_vector_remains(plugin: Embeddings, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise yamnet.YamnetUnavailable("sead is not installed")

    monkeypatch.setattr(embeddings.yamnet, "get", missing)
    result = plugin.analyze(af.tone(440, 1.0, SR), SR, CTX)
    assert result["yamnet"] == {"status": "not_available", "reason": "sead is not installed"}
    assert result["features"]["dim"] == 38
