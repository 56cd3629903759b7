"""The classifier's musicnn part: its tags merged after YAMNet's, and not_available (never an
error) without the experimental environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import musicnn
from core.config import SAMPLE_RATE, get_settings, use_settings
from core.plugin import Context
from core.tasks import to_jsonable
from plugins.classifier import Classifier
from tests import audio_corpus as ac

SR = SAMPLE_RATE
CTX = Context(file_path="x.wav", region_index=0, start_s=0.0)
SETTINGS = get_settings()


def test_without_the_experimental_environment_musicnn_is_not_available(tmp_path: Path) -> None:
    use_settings(SETTINGS.model_copy(update={"experimental_python": tmp_path / "missing" / "python"}))
    try:
        result = Classifier().analyze(ac.instrument("piano", 0, "eval"), SR, CTX)
    finally:
        use_settings(SETTINGS)
    assert result["musicnn"]["status"] == "not_available" and "does not exist" in result["musicnn"]["reason"]
    assert result["tags"] and {t["source"] for t in result["tags"]} == {"yamnet"}
    json.dumps(to_jsonable(result), allow_nan=False)


@pytest.mark.slow
@pytest.mark.skipif(not SETTINGS.experimental_python.exists(), reason="the experimental environment is built by "
                    "`make test`")
def test_musicnn_tags_follow_yamnet_s() -> None:
    result = Classifier().analyze(ac.instrument("piano", 0, "eval"), SR, CTX)
    assert result["musicnn"] == {**result["musicnn"], "status": "ok", "patches": 2}
    first = next(i for i, t in enumerate(result["tags"]) if t["source"] != "yamnet")
    found = result["tags"][first:]
    assert {t["source"] for t in found} == {"musicnn-mtt", "musicnn-msd"}
    assert [t["probability"] for t in found] == sorted((t["probability"] for t in found), reverse=True)
    assert min(t["probability"] for t in found) >= musicnn.MIN_PROBABILITY
    assert any(t["tag"] == "piano" and t["source"] == "musicnn-mtt" and t["group"] == "instrument" for t in found)
