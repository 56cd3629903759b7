"""Key names, the Camelot wheel, key profiles and the MIREX score."""

from __future__ import annotations

import numpy as np
import pytest

from core import keys


def test_camelot_wheel_round_trips_for_all_24_keys() -> None:
    assert keys.camelot(0, "major") == "8B" and keys.camelot(9, "minor") == "8A"
    assert keys.camelot(7, "major") == "9B" and keys.camelot(4, "minor") == "9A"
    codes = {keys.camelot(t, m) for t in range(12) for m in keys.MODES}
    assert len(codes) == 24
    for tonic in range(12):
        for mode in keys.MODES:
            assert keys.from_camelot(keys.camelot(tonic, mode)) == (tonic, mode)
    with pytest.raises(ValueError):
        keys.from_camelot("13A")


def test_parse_key_accepts_common_spellings() -> None:
    assert keys.parse_key("A minor") == (9, "minor")
    assert keys.parse_key("Am") == (9, "minor")
    assert keys.parse_key("F#") == (6, "major")
    assert keys.parse_key("Db major") == (1, "major")
    assert keys.parse_key("8A") == (9, "minor")
    assert keys.key_name(*keys.parse_key("Gb minor")) == "F# minor"
    assert keys.parse_key("a minor") == keys.parse_key("A min") == keys.parse_key("8 a") == (9, "minor")
    assert keys.parse_key("bb") == keys.parse_key("B\u266d major") == keys.parse_key("Bbmaj") == (10, "major")
    for bad in ("H major", "C dorian minor", "X", "AM", "13B", "A minor 7"):
        with pytest.raises(ValueError):
            keys.parse_key(bad)


def test_compatible_keys_are_the_camelot_neighbours() -> None:
    assert set(keys.compatible(0, "major")) == {(0, "major"), (7, "major"), (5, "major"), (9, "minor")}
    assert (2, "minor") in keys.compatible(9, "minor")  # 8A → 7A is D minor


def test_estimate_finds_the_key_of_its_own_profile() -> None:
    for name, (major, minor) in keys.PROFILES.items():
        tonic, mode, strength, scores = keys.estimate(np.roll(minor, 4), name)
        assert (tonic, mode) == (4, "minor") and strength == pytest.approx(1.0)
        assert scores.shape == (2, 12)
        assert keys.estimate(np.roll(major, 11), name)[:2] == (11, "major")
    assert keys.estimate(np.ones(12))[2] == -1.0  # no pitch information at all


def test_mirex_score() -> None:
    c_major = (0, "major")
    assert keys.mirex_score(c_major, c_major) == 1.0
    assert keys.mirex_score((7, "major"), c_major) == 0.5
    assert keys.mirex_score((5, "major"), c_major) == 0.5
    assert keys.mirex_score((9, "minor"), c_major) == 0.3
    assert keys.mirex_score((0, "major"), (9, "minor")) == 0.3
    assert keys.mirex_score((0, "minor"), c_major) == 0.2
    assert keys.mirex_score((2, "major"), c_major) == 0.0
