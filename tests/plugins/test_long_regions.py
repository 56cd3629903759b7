"""A long region reaches plugins as a window on the decoded file, read as they slice it;
every built-in plugin must find in it exactly what it finds in the same samples in memory."""

from __future__ import annotations

import numpy as np
import pytest

from core import pcm, tasks
from core.config import SAMPLE_RATE
from core.embedding_cache import EmbeddingCache
from core.pcm import PcmFile
from core.plugin import Context, discover
from tests import audio_factory as af

SR = SAMPLE_RATE
CTX = Context(file_path="long.wav", region_index=0, start_s=0.0)


@pytest.fixture(scope="module")
def long_region(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, PcmFile]:
    """70 s of music in a decoded file, with a second of other audio before it."""
    folder = tmp_path_factory.mktemp("long")
    audio = af.music(70.0, SR, seed=4)
    before = af.noise(1.0, SR, seed=1)
    path = folder / "decoded.f32"
    PcmFile.write(path, [before, audio], SR)
    window = PcmFile(path, SR).window(len(before), len(before) + len(audio))
    assert len(window) > pcm.IN_MEMORY_SAMPLES
    return audio, window


def test_a_worker_hands_long_regions_over_unread_and_short_ones_in_memory(long_region) -> None:
    audio, window = long_region
    assert pcm.region_samples(window) is window
    short = pcm.region_samples(window.window(0, pcm.IN_MEMORY_SAMPLES))
    assert isinstance(short, np.ndarray) and np.array_equal(short, audio[: pcm.IN_MEMORY_SAMPLES])
    assert np.array_equal(np.asarray(window), audio)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["features", "content", "classifier", "tempo_meter", "key_finder", "embeddings"])
def test_each_plugin_finds_the_same_in_a_window_as_in_memory(long_region, name: str) -> None:
    audio, window = long_region
    plugin_class = discover()[name]
    plugin = plugin_class(cache=EmbeddingCache(None)) if name == "embeddings" else plugin_class()  # both compute
    in_memory = tasks.to_jsonable(plugin.analyze(audio, SR, CTX))
    streamed = tasks.to_jsonable(plugin.analyze(window, SR, CTX))
    assert streamed == in_memory
