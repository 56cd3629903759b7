"""silero-vad through onnxruntime: probabilities, hysteresis, coverage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core import vad
from tests import audio_factory as af

F = vad.FRAME_S


def test_spans_follow_silero_hysteresis() -> None:
    probs = np.array([0.1] * 5 + [0.9] * 20 + [0.4] * 10 + [0.9] * 5 + [0.1] * 10 + [0.9] * 3 + [0.1] * 10 + [0.8] * 9)
    spans = vad.speech_spans(probs)
    assert spans[0] == pytest.approx((5 * F, 40 * F))  # 0.4 lies between the thresholds: speech goes on
    assert len(spans) == 2 and spans[1] == pytest.approx((63 * F, 72 * F))  # 3 frames are too short
    assert vad.speech_spans(np.zeros(0)) == []


def test_coverage() -> None:
    assert vad.coverage([(0.0, 1.0), (2.0, 3.0)], 0.5, 2.5) == pytest.approx(0.5)
    assert vad.coverage([(0.0, 1.0)], 1.0, 1.0) == 0.0


@pytest.mark.skipif(not af.espeak_available(), reason="espeak-ng speaks the test speech (make test)")
def test_speech_is_found_and_noise_is_not(tmp_path: Path) -> None:
    audio, sr = sf.read(af.speech(tmp_path / "s.wav", ["hello there", "how are you today"], pause_ms=800),
                        dtype="float32")
    model = vad.get()
    probs = model.probabilities(audio, sr)
    assert len(probs) == -(-round(len(audio) * 16_000 / sr) // vad.FRAME)
    spans = vad.speech_spans(probs)
    assert len(spans) == 2 and spans[1][0] - spans[0][1] > 0.5
    assert model.probabilities(af.noise(2.0, sr, 0.05), sr).max() < 0.5
    assert vad.model_name().startswith("silero-vad")


def test_a_missing_model_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vad, "DISTRIBUTION", "no-such-distribution")
    with pytest.raises(vad.VadUnavailable):
        vad.Vad()
    assert vad.model_name() == "silero-vad (missing)"
