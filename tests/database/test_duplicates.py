"""What makes two regions the same sound: envelopes that rise and fall together."""

from __future__ import annotations

from core.waveform import peaks
from database.duplicates import ENVELOPE_MIN, envelope_similarity
from tests import audio_factory as af

SR = 22_050


def _peaks(audio) -> dict:
    return peaks(audio, SR, 200).to_dict()


def test_the_same_sound_quieter_and_a_little_shorter_is_alike() -> None:
    beat = af.clicks(3.0, 2.0, SR) + af.tone(220.0, 2.0, SR, 0.05)
    assert envelope_similarity(_peaks(beat), _peaks(0.5 * beat[: int(1.6 * SR)])) > ENVELOPE_MIN
    hiss = af.noise(2.0, SR, seed=1)
    assert envelope_similarity(_peaks(hiss), _peaks(0.7 * hiss)) > ENVELOPE_MIN


def test_another_take_is_not() -> None:
    assert envelope_similarity(_peaks(af.clicks(3.0, 2.0, SR)), _peaks(af.clicks(4.3, 2.0, SR))) < 0.5
    assert envelope_similarity(_peaks(af.noise(2.0, SR, seed=1)), _peaks(af.noise(2.0, SR, seed=2))) < 0.5


def test_a_held_tone_is_alike_only_to_another_held_sound() -> None:
    tone = af.tone(440.0, 2.0, SR)
    assert envelope_similarity(_peaks(tone), _peaks(0.5 * tone)) == 1.0
    assert envelope_similarity(_peaks(tone), _peaks(af.clicks(3.0, 2.0, SR))) == 0.0
