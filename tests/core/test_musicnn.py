"""musicnn's tags through the experimental environment's musicnn worker: its input, the
patches sent, a missing environment, and the taggers on rendered piano, speech and music."""

from __future__ import annotations

import sys
from pathlib import Path

import librosa
import numpy as np
import pytest

from core import musicnn
from core.bridge import Bridge
from core.config import SAMPLE_RATE, get_settings
from core.musicnn_mel import PATCH_FRAMES, PATCH_SAMPLES, log_mel, patches
from tests import audio_corpus as ac
from tests import audio_factory as af

SETTINGS = get_settings()
SR = SAMPLE_RATE
needs_env = pytest.mark.skipif(not SETTINGS.experimental_python.exists(),
                               reason="the experimental environment is built by `make test`")


def test_the_input_is_musicnn_s_librosa_log_mel() -> None:
    audio = af.music(7.0, 16_000)
    expected = librosa.feature.melspectrogram(y=audio, sr=16_000, hop_length=256, n_fft=512, n_mels=96,
                                              pad_mode="reflect").T
    expected = np.log10(10_000 * expected.astype(np.float16).astype(np.float32) + 1)
    np.testing.assert_allclose(log_mel(audio), expected, atol=5e-3)  # float16 steps, float32 vs float64 sums
    batch = patches(audio[: 2 * PATCH_SAMPLES])
    assert batch.shape == (2, PATCH_FRAMES, 96) and batch.dtype == np.float32
    with pytest.raises(ValueError, match="whole patches"):
        patches(audio[: PATCH_SAMPLES + 1])


def test_patches_cover_a_short_region_and_spread_over_a_long_one() -> None:
    assert musicnn.patch_starts(PATCH_SAMPLES - 1).size == 0
    np.testing.assert_array_equal(musicnn.patch_starts(3 * PATCH_SAMPLES + 5), [0, PATCH_SAMPLES, 2 * PATCH_SAMPLES])
    starts = musicnn.patch_starts(100 * PATCH_SAMPLES)
    assert len(starts) == musicnn.MAX_PATCHES and starts[0] == 0 and starts[-1] == 99 * PATCH_SAMPLES


def test_every_tag_has_a_group() -> None:
    assert set(musicnn.GROUP.values()) <= {"instrument", "genre", "mood", "vocal", "sound_effect"}
    assert len(musicnn.GROUP) == sum(len(tags) for tags in musicnn.GROUPS.values())  # each tag in one group


def test_a_missing_environment_or_musicnn_is_not_available(tmp_path: Path) -> None:
    clip = af.tone(440, 4.0, SR)
    missing = musicnn.region_tags(clip, SR, Bridge(tmp_path / "no-python", SETTINGS.musicnn_worker))
    assert missing["status"] == "not_available" and "does not exist" in missing["reason"] and "tags" not in missing
    # this environment has no TensorFlow: the worker refuses to start and says why
    without = Bridge(Path(sys.executable), SETTINGS.musicnn_worker)
    answer = musicnn.region_tags(clip, SR, without)
    assert answer["status"] == "not_available" and "musicnn is not installed" in answer["reason"]
    assert musicnn.region_tags(clip[: SR], SR, without)["status"] == "not_applicable"  # shorter than a patch


@pytest.fixture(scope="module")
def bridge() -> Bridge:
    instance = Bridge(SETTINGS.experimental_python, SETTINGS.musicnn_worker)
    yield instance
    instance.close()


@needs_env
@pytest.mark.slow
def test_a_rendered_piano_is_tagged_piano(bridge: Bridge) -> None:
    for index in range(3):
        output = musicnn.run(ac.instrument("piano", index, "eval"), SR, bridge)
        mtt = output.probabilities["mtt"]
        assert "piano" in sorted(mtt, key=mtt.__getitem__, reverse=True)[:3], index
    assert output.patches == 2 and output.embeddings["msd"].shape == (200,)
    assert bridge.versions["musicnn"] == "0.1.0" and bridge.starts == 1


@needs_env
@pytest.mark.slow
@pytest.mark.skipif(not af.espeak_available(), reason="espeak-ng speaks the test speech (make test)")
def test_speech_is_heard_as_a_voice_and_music_as_instrumental(bridge: Bridge) -> None:
    def listened(audio: np.ndarray) -> tuple[bool, bool]:
        """(MTT's strongest voice tag outscores its no-voice tags, a no-voice tag is listed)"""
        output = musicnn.run(audio, SR, bridge)
        mtt = output.probabilities["mtt"]
        voiced = max(mtt[t] for t in musicnn.VOICE_TAGS if t in mtt) > max(
            mtt[t] for t in musicnn.NO_VOICE_TAGS if t in mtt)
        instrumental = any(p >= musicnn.MIN_PROBABILITY for probabilities in output.probabilities.values()
                           for tag, p in probabilities.items() if tag in musicnn.NO_VOICE_TAGS)
        return voiced, instrumental

    assert all(listened(ac.speech(i, "eval")) == (True, False) for i in range(3))
    assert all(listened(ac.music(i, "eval"))[1] for i in range(3))
