"""The audio fingerprint tells the same recording (after MP3 or Vorbis, a gain change,
another sample rate, a shifted start) from another sound of the same kind: it scores the
copies above every other sound, and two white noises far apart.

Synthetic sounds of one recipe that differ only in pitch or decay (two generated kicks,
snares or plucked notes) unfold alike in every band, and can score above SAME_AUDIO_MIN;
the copy still scores higher. Recorded hits of different kits did not (tuning set)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soxr

from core import audio, fingerprint
from database.queries import SAME_AUDIO_MIN
from tests import audio_factory as af
from tests.library.one_shots import one_shot

SR = 22_050


def versions(sound: np.ndarray, folder: Path) -> dict[str, np.ndarray]:
    """``sound`` as the engine reads it back from other files: MP3 3 dB quieter, Ogg
    Vorbis 6 dB quieter, a 48 kHz WAV, and itself 20 ms later."""
    found = {}
    for name, gain_db, rate in (("x.mp3", -3.0, SR), ("x.ogg", -6.0, SR), ("x48.wav", 0.0, 48_000)):
        signal = sound * 10 ** (gain_db / 20)
        if rate != SR:
            signal = soxr.resample(signal, SR, rate)
        path = af.write(folder / name, signal.astype(np.float32), rate)
        found[name] = audio.decode(path, SR)
    found["late"] = np.concatenate([np.zeros(441, np.float32), sound])
    return found


@pytest.mark.parametrize("kind", ["noise", "kick", "snare", "tone"])
def test_the_same_recording_matches_and_another_of_its_kind_does_not(kind: str, tmp_path: Path) -> None:
    def make(seed: int) -> np.ndarray:
        if kind == "noise":  # white noise of one level: the hardest case for a spectral fingerprint
            return af.noise(3.0, SR, amp=0.1, seed=seed)
        if kind == "tone":  # a fifth apart (a semitone apart, plucked notes of one recipe score 0.98)
            return af.note(60 + 7 * (seed - 1), 1.5, SR, amp=0.5)
        return one_shot(kind, seed)

    original, other = make(1), make(2)
    mine = fingerprint.fingerprint(original, SR)
    assert mine.dtype == np.uint8 and mine.shape == (fingerprint.SIZE,)
    copies = versions(original, tmp_path)
    scores = dict(zip(copies, fingerprint.similarity(mine, [fingerprint.fingerprint(c, SR) for c in copies.values()]),
                      strict=True))
    assert min(scores.values()) >= SAME_AUDIO_MIN + 0.1, scores
    assert fingerprint.similarity(mine, [mine])[0] == 1.0
    assert fingerprint.similarity(mine, [fingerprint.fingerprint(original * 0.01, SR)])[0] > 0.95  # −40 dB
    different = fingerprint.similarity(mine, [fingerprint.fingerprint(other, SR)])[0]
    assert different < min(scores.values()) - 0.05, (different, scores)
    if kind == "noise":
        assert different < SAME_AUDIO_MIN - 0.3, different


def test_white_noises_are_told_apart_only_by_their_own_fluctuations() -> None:
    prints = [fingerprint.fingerprint(af.noise(2.0, SR, seed=seed), SR) for seed in range(12)]
    scores = fingerprint.similarity(prints[0], prints[1:])
    assert scores.max() < 0.2 and abs(float(scores.mean())) < 0.1


def test_short_and_silent_audio_and_bad_sizes() -> None:
    click = fingerprint.fingerprint(af.noise(0.01, SR, seed=1), SR)  # shorter than one frame
    assert click[0] == 1
    hit = fingerprint.fingerprint(af.noise(0.1, SR, seed=1), SR)  # 5 frames
    assert hit[0] == 5
    assert fingerprint.similarity(click, [hit])[0] == -1.0  # too short to compare
    assert fingerprint.similarity(hit, [hit])[0] == 1.0
    silent = fingerprint.fingerprint(np.zeros(SR, np.float32), SR)
    assert silent[0] == 83 and np.isfinite(fingerprint.similarity(silent, [silent])).all()
    assert fingerprint.similarity(hit, []).shape == (0,)
    with pytest.raises(ValueError, match="257 bytes"):
        fingerprint.similarity(hit, [hit[:-1]])
    assert fingerprint.model_name(SR) == "fingerprint-v1 (16 bands, 1024/256 at 22050 Hz, 128 frames)"
