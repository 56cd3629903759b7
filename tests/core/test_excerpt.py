"""Excerpts of audio files: the stretch, rate and channels written, and the cache's bounds."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from core.excerpt import ExcerptError, write_excerpt
from core.excerpt_cache import ExcerptFailed
from tests import audio_factory as af


def test_an_excerpt_keeps_rate_and_folds_many_channels_to_stereo(tmp_path) -> None:
    rate = 48_000
    channels = np.stack([af.tone(220.0 * (c + 1), 2.0, rate, 0.1) for c in range(4)], axis=1)
    source = tmp_path / "four.wav"
    sf.write(source, channels, rate)
    written = write_excerpt(source, tmp_path / "cut.flac", 0.5, 1.25, "flac")
    audio, got_rate = sf.read(tmp_path / "cut.flac")
    assert written == {"sample_rate": rate, "channels": 2, "frames": 36_000} and got_rate == rate
    expected_left = channels[24_000:60_000, 0::2].mean(axis=1)
    assert np.allclose(audio[:, 0], expected_left, atol=1e-4)
    with pytest.raises(ExcerptError, match="ends before"):
        write_excerpt(source, tmp_path / "none.wav", 5.0)
    assert not (tmp_path / "none.wav").exists()
    with pytest.raises(ExcerptError, match="no audio between"):
        write_excerpt(source, tmp_path / "none.wav", 1.0, 0.5)


def test_the_cache_reuses_excerpts_and_stays_within_its_size(features_engine, tmp_path) -> None:
    cache = features_engine.excerpts
    source = af.write(tmp_path / "tone.wav", af.tone(440.0, 3.0))
    first = cache.get(source, 0.0, 1.0)
    assert cache.get(source, 0.0, 1.0) == first  # rendered once
    cache.max_bytes = first.stat().st_size + 10
    second = cache.get(source, 1.0, 2.0)
    assert second.exists() and not first.exists()  # the older excerpt made room
    with pytest.raises(ExcerptFailed) as failed:
        cache.get(source, 10.0, 11.0)
    assert failed.value.bad_request
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF" + bytes(100))
    with pytest.raises(ExcerptFailed, match="could not be decoded") as failed:
        cache.get(garbage)
    assert not failed.value.bad_request
    assert not list(cache.folder.glob("*.part"))
