"""YAMNet's front end and model as shipped in the sead package."""

from __future__ import annotations

import numpy as np
import pytest

from core import yamnet
from tests import audio_factory as af


def test_the_front_end_shapes() -> None:
    audio16 = af.noise(2.0, yamnet.SAMPLE_RATE)
    mel = yamnet.log_mel(audio16)
    assert mel.shape == (1 + (len(audio16) - yamnet.WINDOW) // yamnet.HOP, 64)
    assert mel.min() >= np.log(yamnet.LOG_OFFSET) - 1e-6
    assert yamnet.patches(mel).shape == ((len(mel) - 96) // 48 + 1, 96, 64)
    assert yamnet.log_mel(np.zeros(10, np.float32)).shape == (0, 64)
    matrix = yamnet._mel_matrix()
    assert matrix.shape == (257, 64) and not matrix[0].any() and (matrix.max(axis=0) > 0.5).all()


def test_patch_count_follows_yamnet_padding() -> None:
    assert yamnet.n_patches(1, 16_000) == 1
    assert yamnet.n_patches(yamnet.PATCH_SAMPLES, 16_000) == 1
    assert yamnet.n_patches(yamnet.PATCH_SAMPLES + 1, 16_000) == 2
    assert yamnet.n_patches(10 * 22_050, 22_050) == 1 + -(-(160_000 - yamnet.PATCH_SAMPLES) // 7680)


def test_the_model_hears_silence_and_speech_classes_exist() -> None:
    out = yamnet.get().run(af.silence(2.0, 22_050), 22_050)
    assert out.scores.shape == (yamnet.n_patches(44_100, 22_050), 521) and out.embeddings.shape[1] == 1024
    assert int(np.argmax(out.scores.mean(axis=0))) == yamnet.class_index("Silence")
    assert out.starts_s[1] == pytest.approx(0.48)
    assert yamnet.class_names()[0] == "Speech" and yamnet.model_name().startswith("yamnet-int8 (sead ")


def test_long_audio_is_read_in_blocks_with_the_same_answer() -> None:
    audio = af.music(70.0, 22_050)  # two blocks of patches
    whole = yamnet.get().run(audio, 22_050)
    part = yamnet.get().run(audio[: 20 * 22_050], 22_050)
    assert len(whole.scores) > yamnet.BLOCK_PATCHES
    assert np.abs(whole.embeddings[:30] - part.embeddings[:30]).max() < 1e-3


def test_the_patches_covering_a_moment() -> None:
    starts = np.arange(5) * yamnet.PATCH_HOP_S  # patches of 0.96 s every 0.48 s
    covers = yamnet.covering(starts, np.array([0.1, 0.7, 1.2, 9.0]))
    assert covers.tolist() == [[True, False, False, False, False], [True, True, False, False, False],
                               [False, True, True, False, False], [False, False, False, False, True]]  # 9 s: the last


def test_missing_or_changed_models_are_typed_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamnet, "EMBEDDING_OUTPUT", "/no/such/tensor")
    with pytest.raises(yamnet.YamnetUnavailable, match="no tensor"):
        yamnet.Yamnet()
    monkeypatch.setattr(yamnet, "DISTRIBUTION", "no-such-distribution")
    with pytest.raises(yamnet.YamnetUnavailable, match="not installed"):
        yamnet._load_graph()
    assert yamnet.model_name() == "yamnet-int8 (sead missing)"
