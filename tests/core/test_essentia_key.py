"""The key finder's block-wise Essentia path is Essentia's KeyExtractor on the whole region.

plugins/key_finder.py streams a region to the experimental worker a few blocks at a time
(``hpcp``) and estimates the key from the mean profile (``key``); here the same audio goes
whole through ``essentia.standard.KeyExtractor`` in the experimental environment, and
both must name the same key with the same strength.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from core.bridge import Bridge
from core.config import SAMPLE_RATE, get_settings
from plugins import key_finder
from plugins.key_finder import KeyFinder
from tests import audio_factory as af

SETTINGS = get_settings()
pytestmark = pytest.mark.skipif(not SETTINGS.experimental_python.exists(),
                                reason="the experimental environment is built by `make test`")

_WHOLE = """
import json, sys, numpy as np, essentia, essentia.standard as es
essentia.log.infoActive = False
audio = np.load(sys.argv[1]).astype(np.float32)
key, scale, strength = es.KeyExtractor(profileType=sys.argv[2], sampleRate=float(sys.argv[3]))(audio)
print(json.dumps({"key": key, "scale": scale, "strength": float(strength)}))
"""


def key_extractor(audio: np.ndarray, tmp_path: Path, profile: str) -> dict:
    """Essentia's KeyExtractor on all of ``audio`` at once, in the experimental environment."""
    path = tmp_path / "audio.npy"
    np.save(path, audio)
    done = subprocess.run([str(SETTINGS.experimental_python), "-c", _WHOLE, str(path), profile, str(SAMPLE_RATE)],
                          capture_output=True, text=True, check=True, timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("tonic", "mode", "seconds"), [(9, "minor", 12.0), (2, "major", 75.0), (10, "minor", 250.0)])
def test_blocks_through_the_bridge_are_key_extractor_on_the_whole_region(
        tmp_path: Path, tonic: int, mode: str, seconds: float) -> None:
    rng = np.random.default_rng(tonic)
    audio = (af.progression(tonic, mode, seconds, SAMPLE_RATE) + 0.01 * rng.standard_normal(int(seconds * SAMPLE_RATE))
             ).astype(np.float32)
    assert len(audio) > key_finder.BLOCKS_PER_CALL * key_finder.BLOCK_SAMPLES or seconds < 60  # several calls
    finder = KeyFinder()
    finder.bridge = Bridge(SETTINGS.experimental_python, SETTINGS.experimental_worker)
    try:
        found = finder.essentia_key(audio, SAMPLE_RATE)
    finally:
        finder.bridge.close()
    whole = key_extractor(audio, tmp_path, finder.essentia_profile)
    assert f"{found['tonic']} {found['mode']}" == f"{whole['key']} {whole['scale']}"
    assert found["strength"] == pytest.approx(whole["strength"], abs=2e-3)
