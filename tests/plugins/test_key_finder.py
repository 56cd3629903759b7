"""The key finder on chord progressions in all 24 keys, key changes, and its fallback."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core import keys
from core.bridge import Bridge
from core.config import SAMPLE_RATE, get_settings
from core.plugin import Context
from plugins.key_finder import KeyFinder, key_changes
from tests import audio_factory as af

SR = SAMPLE_RATE
CTX = Context(file_path="x.wav", region_index=0, start_s=0.0)
SETTINGS = get_settings()
needs_env = pytest.mark.skipif(not SETTINGS.experimental_python.exists(),
                               reason="the experimental environment is built by `make test`")


@pytest.fixture
def plugin() -> KeyFinder:
    finder = KeyFinder()
    finder.bridge = Bridge(SETTINGS.experimental_python, SETTINGS.experimental_worker)
    yield finder
    finder.bridge.close()


@pytest.fixture
def fallback_only(tmp_path: Path) -> KeyFinder:
    finder = KeyFinder()
    finder.bridge = Bridge(tmp_path / "missing" / "python", SETTINGS.experimental_worker)
    return finder


@needs_env
@pytest.mark.slow
def test_essentia_names_all_24_keys(plugin: KeyFinder) -> None:
    for tonic in range(12):
        for mode in keys.MODES:
            result = plugin.analyze(af.progression(tonic, mode, 8.0, SR), SR, CTX)
            assert (result["key"], result["method"]) == (keys.key_name(tonic, mode), "essentia")
            assert result["camelot"] == keys.camelot(tonic, mode) and 0 < result["strength"] <= 1
            assert result["key_changes"] == []


@pytest.mark.slow
def test_the_fallback_names_all_24_keys(fallback_only: KeyFinder) -> None:
    for tonic in range(12):
        for mode in keys.MODES:
            result = fallback_only.analyze(af.progression(tonic, mode, 8.0, SR), SR, CTX)
            assert (result["key"], result["method"]) == (keys.key_name(tonic, mode), "librosa")
            assert "does not exist" in result["fallback_reason"]


@pytest.mark.parametrize("method", ["essentia", "librosa"])
def test_a_key_change_inside_a_long_region(plugin: KeyFinder, fallback_only: KeyFinder, method: str) -> None:
    if method == "essentia" and not SETTINGS.experimental_python.exists():
        pytest.skip("the experimental environment is built by `make test`")
    finder = plugin if method == "essentia" else fallback_only
    audio = np.concatenate([af.progression(0, "major", 70.0, SR), af.progression(6, "major", 70.0, SR)])
    result = finder.analyze(audio, SR, CTX)
    assert result["method"] == method
    assert [c["key"] for c in result["key_changes"]] == ["F# major"]
    assert result["key_changes"][0]["time_s"] == pytest.approx(70.0, abs=15.0)


@needs_env
def test_killing_the_essentia_child_mid_analysis_falls_back_then_restarts(plugin: KeyFinder) -> None:
    plugin.bridge.call("ping", {})
    pid = plugin.bridge._process.pid
    audio = af.progression(2, "minor", 600.0, SR)  # long enough to still be in flight

    def kill_when_busy() -> None:
        while not plugin.bridge._lock.locked():
            time.sleep(0.001)
        os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    result = plugin.analyze(audio, SR, CTX)
    killer.join()
    assert result["method"] == "librosa" and result["key"] == "D minor"
    assert "died" in result["fallback_reason"]
    following = plugin.analyze(af.progression(2, "minor", 8.0, SR), SR, CTX)  # the next file
    assert following["method"] == "essentia" and plugin.bridge._process.pid != pid


def test_key_changes_need_two_agreeing_windows() -> None:
    c, g = (0, "major"), (7, "major")
    windows = [(0.0, *c), (15.0, *g), (30.0, *c), (45.0, *g), (60.0, *g), (75.0, *g)]
    assert [(c["key"], c["time_s"]) for c in key_changes(windows, 15.0)] == [("G major", 52.5)]
    assert key_changes([], 15.0) == [] and key_changes([(0.0, *c), (15.0, *c)], 15.0) == []


def test_summary_picks_the_key_covering_the_most_time() -> None:
    results = [{"key": "A minor"}, {"key": "C major"}, {"key": "A minor"}]
    assert KeyFinder.summarize(results, [10.0, 25.0, 10.0]) == {"key": "C major", "camelot": "8B"}
    assert KeyFinder.summarize([], []) == {}
