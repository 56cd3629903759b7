"""The embeddings plugin: gain invariance, separation of different sounds, encoding, the
multi-layer vector and the on-disk cache by model and audio."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core import yamnet
from core.config import SAMPLE_RATE
from core.embedding_cache import EmbeddingCache, audio_digest, slug
from core.plugin import Context
from core.tasks import to_jsonable
from plugins import embeddings
from plugins.embeddings import Embeddings, decode, encode
from tests import audio_corpus as ac
from tests import audio_factory as af

SR = SAMPLE_RATE
CTX = Context(file_path="x.wav", region_index=0, start_s=0.0)


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Embeddings:
    plugin = Embeddings(EmbeddingCache(tmp_path_factory.mktemp("embedding-cache")))
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
        assert cosine(loud["yamnet_layers"], quiet["yamnet_layers"]) > 0.99
        assert cosine(loud["features"], quiet["features"]) > 0.99


def test_different_sounds_are_further_apart(plugin: Embeddings, clips: dict) -> None:
    vectors = {name: plugin.analyze(audio, SR, CTX) for name, audio in clips.items()}
    names = list(vectors)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert cosine(vectors[a]["yamnet"], vectors[b]["yamnet"]) < 0.9, (a, b)
            assert cosine(vectors[a]["yamnet_layers"], vectors[b]["yamnet_layers"]) < 0.9, (a, b)
            assert cosine(vectors[a]["features"], vectors[b]["features"]) < 0.99, (a, b)


def test_vectors_carry_their_model_and_are_compact_json(plugin: Embeddings) -> None:
    result = plugin.analyze(af.tone(440, 0.3, SR), SR, CTX)
    assert (result["yamnet"]["dim"], result["yamnet_layers"]["dim"], result["features"]["dim"]) == (1024, 2176, 38)
    assert result["yamnet"]["model"] == yamnet.model_name() and "librosa" in result["features"]["model"]
    assert result["yamnet_layers"]["model"] == "yamnet-int8 layers 4,7,11,14 (sead 0.2.1)"
    assert len(json.dumps(to_jsonable(result), allow_nan=False)) < 10_000
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
    assert result["yamnet_layers"]["status"] == "not_available"
    assert result["features"]["dim"] == 38


def test_the_multi_layer_vector_is_four_layers_at_the_quartiles(plugin: Embeddings, clips: dict) -> None:
    """Layers 4, 7, 11 and 14 of 14, each a quarter of the vector's energy; the last is
    the embedding itself; the lower layers are closer to the spectrum."""
    assert yamnet.LAYERS == (4, 7, 11, 14)
    result = plugin.analyze(clips["piano"], SR, CTX)
    layers = decode(result["yamnet_layers"])
    bounds = np.cumsum((0, *yamnet.LAYER_SIZES))
    blocks = [layers[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    assert [np.linalg.norm(block) for block in blocks] == pytest.approx([0.5] * 4, abs=2e-3)
    assert float(blocks[-1] / 0.5 @ decode(result["yamnet"])) > 0.999
    output = yamnet.get().run(clips["piano"], SR, layers=True, gain=embeddings.reference_gain(clips["piano"]))
    assert output.layers.shape == (len(output.embeddings), 2176) and (output.layers >= 0).all()  # after ReLU
    assert np.array_equal(output.layers[:, -1024:], output.embeddings)
    assert yamnet.get().run(clips["piano"], SR).layers is None  # only when asked for
    # white against brown noise: far apart
    white = af.noise(2.0, SR, seed=3)
    brown = np.cumsum(white).astype(np.float32)
    found = [decode(plugin.analyze(a / np.abs(a).max() * 0.5, SR, CTX)["yamnet_layers"]) for a in (white, brown)]
    assert float(found[0] @ found[1]) < 0.9


def counting(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts of calls of YAMNet and of the feature vector, from now on."""
    calls = {"yamnet": 0, "features": 0}
    run, features = yamnet.Yamnet.run, embeddings.feature_vector

    def counted_run(self, *args, **kwargs):
        calls["yamnet"] += 1
        return run(self, *args, **kwargs)

    def counted_features(*args, **kwargs):
        calls["features"] += 1
        return features(*args, **kwargs)

    monkeypatch.setattr(yamnet.Yamnet, "run", counted_run)
    monkeypatch.setattr(embeddings, "feature_vector", counted_features)
    return calls


def test_unchanged_audio_is_never_run_through_a_model_again(tmp_path, monkeypatch: pytest.MonkeyPatch,
                                                            clips: dict) -> None:
    calls = counting(monkeypatch)
    audio = clips["music"]
    first = Embeddings(EmbeddingCache(tmp_path)).analyze(audio, SR, CTX)
    assert calls == {"yamnet": 1, "features": 1}
    kept = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.f16"))
    digest = audio_digest(audio, SR)
    assert [p.parts[0] for p in kept] == sorted(slug(m) for m in (yamnet.model_name(), yamnet.layers_model_name(),
                                                                  embeddings.FEATURES_MODEL))
    assert all(p.name == f"{digest}.f16" for p in kept)
    # another plugin instance (a new worker), the same audio: the same bytes, no model run
    again = Embeddings(EmbeddingCache(tmp_path)).analyze(audio.copy(), SR, CTX)
    assert calls == {"yamnet": 1, "features": 1} and again == first
    # one sample changed: a new key, computed again
    changed = audio.copy()
    changed[1000] += 0.01
    other = Embeddings(EmbeddingCache(tmp_path)).analyze(changed, SR, CTX)
    assert calls == {"yamnet": 2, "features": 2} and other != first
    assert cosine(other["yamnet"], first["yamnet"]) > 0.99  # nearly the same sound
    assert len(list(tmp_path.rglob("*.f16"))) == 6
    # the same samples at another rate are other audio
    Embeddings(EmbeddingCache(tmp_path)).analyze(audio, 16_000, CTX)
    assert calls == {"yamnet": 3, "features": 3}


def test_a_damaged_cache_entry_is_computed_again_and_no_cache_computes_always(tmp_path, monkeypatch, clips) -> None:
    calls = counting(monkeypatch)
    audio = clips["drums"]
    first = Embeddings(EmbeddingCache(tmp_path)).analyze(audio, SR, CTX)
    path = next(tmp_path.glob(f"{slug(yamnet.layers_model_name())}/*/*.f16"))
    path.write_bytes(path.read_bytes()[:100])  # cut short (a disk that filled up)
    again = Embeddings(EmbeddingCache(tmp_path)).analyze(audio, SR, CTX)
    assert again == first and calls == {"yamnet": 2, "features": 1}  # only what was lost
    assert len(path.read_bytes()) == 2 * 2176  # and written whole again
    assert not list(tmp_path.rglob("*.tmp"))
    uncached = Embeddings(EmbeddingCache(None))
    assert uncached.analyze(audio, SR, CTX) == first and uncached.analyze(audio, SR, CTX) == first
    assert calls == {"yamnet": 4, "features": 3}
    read_only = tmp_path / "read-only"
    read_only.write_text("a file where the cache's folder would be")
    assert Embeddings(EmbeddingCache(read_only)).analyze(audio, SR, CTX) == first  # a cache that cannot write


def test_the_cache_folder_comes_from_the_settings(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import make_settings

    monkeypatch.setattr("core.config._current", make_settings(tmp_path / "data"))
    plugin = Embeddings()
    plugin.analyze(af.tone(440, 0.5, SR), SR, CTX)
    assert plugin.cache.folder == tmp_path / "data" / "cache" / "embeddings"
    assert len(list(plugin.cache.folder.rglob("*.f16"))) == 3
