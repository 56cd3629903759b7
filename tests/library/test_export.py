"""Rendering a region as a sample: key and tempo arithmetic, fades, levels, formats, names."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from core import keys
from core.excerpt import ExcerptError, read_excerpt
from core.export import (
    ExportError,
    ExportOptions,
    fade,
    key_shift,
    normalise_gain_db,
    parse_target_key,
    render_region,
    stretch_factor,
)
from core.exporter import check_template, file_stem, short_key
from tests import audio_factory as af


def test_key_shift_takes_the_short_way_and_keeps_the_mode() -> None:
    assert key_shift("A minor", "C minor") == (3, "C minor")
    assert key_shift("A minor", "F minor") == (-4, "F minor")
    assert key_shift("C major", "F#") == (-6, "F# major")
    assert key_shift("A minor", "C major") == (0, "A minor")  # the relative key: nothing to do
    assert key_shift("Am", "8A") == (0, "A minor")
    assert key_shift("E major", "Am") == (-4, "C major")  # A minor's relative, C major
    with pytest.raises(ExportError, match="unknown key"):
        key_shift("A minor", "H minor")


def test_stretch_factor_reaches_the_target_or_its_nearer_octave() -> None:
    assert stretch_factor(120.0, 128.0) == pytest.approx((128 / 120, 128.0))
    assert stretch_factor(70.0, 140.0) == pytest.approx((1.0, 70.0))  # half time, untouched
    assert stretch_factor(170.0, 90.0) == pytest.approx((180 / 170, 180.0))


def test_fades_are_raised_cosines_of_the_given_length() -> None:
    sr = 1000
    faded = fade(np.ones((1000, 2), np.float32), sr, fade_in_ms=100, fade_out_ms=200)
    assert faded[0, 0] == 0.0 and faded[50, 0] == pytest.approx(0.5, abs=0.001)
    assert faded[100:800].min() == 1.0 and faded[-1, 1] == 0.0
    assert np.all(np.diff(faded[:100, 0]) >= 0) and np.all(np.diff(faded[800:, 0]) <= 0)
    short = fade(np.ones((10, 1), np.float32), sr, 1000, 0)[:, 0]  # a fade longer than the sound spans it
    assert short[0] == 0.0 and short[-1] > 0.97


def test_levels_peak_lufs_limited_and_too_short() -> None:
    sr = 44_100
    tone = af.tone(440.0, 2.0, sr, amp=0.25)[:, None]
    assert normalise_gain_db(tone, sr, ExportOptions(normalise="peak", peak_dbfs=-3.0)) == \
        (pytest.approx(-3.0 - 20 * math.log10(0.25), abs=0.01), "peak")
    gain, how = normalise_gain_db(tone, sr, ExportOptions(normalise="lufs", lufs=-23.0))
    measured = pyloudnorm.Meter(sr).integrated_loudness((tone * 10 ** (gain / 20)).astype(np.float64))
    assert how == "lufs" and measured == pytest.approx(-23.0, abs=0.05)
    gain, how = normalise_gain_db(tone, sr, ExportOptions(normalise="lufs", lufs=-3.0))
    assert how == "lufs, peak-limited" and 20 * math.log10(0.25) + gain == pytest.approx(-1.0, abs=1e-4)
    assert normalise_gain_db(tone[:4000], sr, ExportOptions(normalise="lufs"))[1] == "peak (too short for LUFS)"
    assert normalise_gain_db(tone * 1e-4, sr, ExportOptions(normalise="lufs"))[1] == "peak (too quiet for LUFS)"
    assert normalise_gain_db(tone * 0, sr, ExportOptions(normalise="peak")) == (0.0, "none")
    assert normalise_gain_db(tone, sr, ExportOptions()) == (0.0, "none")


@pytest.mark.parametrize(("options", "message"), [
    ({"fmt": "ogg"}, "unknown format"), ({"normalise": "rms"}, "unknown normalisation"),
    ({"peak_dbfs": 1.0}, "at most 0"), ({"fade_in_ms": float("nan")}, "finite"),
    ({"target_bpm": 1000.0}, "outside 20-400"), ({"target_key": "X"}, "unknown key")])
def test_bad_options_are_export_errors(options: dict, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        ExportOptions(**options)


def test_a_target_key_is_accepted_as_the_error_message_offers_it() -> None:
    """Every spelling the error offers (a key name, a bare tonic, a Camelot code) is
    accepted, with the variants people type; export and search read keys alike."""
    with pytest.raises(ExportError) as raised:
        ExportOptions(target_key="H minor")
    offered = re.findall(r"'([^']+)'", str(raised.value).split(":", 1)[1])
    assert offered == ["A minor", "F#", "8A"]
    for text in offered:
        assert parse_target_key(text) == keys.parse_key(text)
        assert ExportOptions(target_key=text).target_key == text
    same = {"A minor": ["8A", "8a", "8 A", "08A", "Am", "a minor", "A min", "Amin", " A  minor "],
            "F# major": ["F#", "f#", "F# major", "F#maj", "Gb", "F\u266f", "2B"],
            "Eb minor": ["Ebm", "eb minor", "E\u266d min", "D#m", "2A"]}
    for name, spellings in same.items():
        for text in spellings:
            assert keys.key_name(*parse_target_key(text)) == name, text
            assert keys.search_names(text) == (name,), text
    assert key_shift("A minor", "5A") == (-6 + 9, "C minor") == key_shift("a minor", "c min")
    assert key_shift("C major", "9b") == (-5, "G major")
    for bad in ("13A", "0B", "8C", "AM", "H", "Am7", "", "8"):
        with pytest.raises(ExportError, match="unknown key"):
            parse_target_key(bad)


def test_names_from_the_template() -> None:
    values = {"name": "Break 01", "bpm": 128, "key": "F#m", "index": "007", "region": 2, "id": 9,
              "content": "music", "tag": "drum loop"}
    template = ExportOptions().template
    assert file_stem(template, values) == "Break-01_128bpm_F#m_007"
    assert file_stem(template, {**values, "bpm": None, "key": None}) == "Break-01_007"
    assert file_stem("{tag}/{id}", values) == "drum-loop-9"
    assert file_stem("{key}", {"key": None}) == "sample"
    assert (short_key("A minor"), short_key("F# major"), short_key(None)) == ("Am", "F#", None)
    check_template("{name}-{region}_{content}")
    with pytest.raises(ExportError, match="unknown field.*nme"):
        check_template("{nme}_{index}")
    for bad in ("{name", "{index:d}", "{bpm:s}x"):
        with pytest.raises(ExportError, match="bad file name template"):
            check_template(bad)


def test_render_cuts_fades_normalises_and_writes_every_format(tmp_path: Path) -> None:
    sr = 48_000
    source = af.write(tmp_path / "tone.wav", np.concatenate([af.silence(0.5, sr), af.tone(330.0, 2.0, sr, 0.3)]), sr)
    options = ExportOptions(normalise="peak", peak_dbfs=-1.0, fade_in_ms=20, fade_out_ms=50).to_dict()
    done = render_region(str(source), str(tmp_path / "out.wav"), 0.5, 2.0, None, None, options)
    assert done == {"sample_rate": sr, "channels": 1, "frames": 72_000, "duration_s": 1.5, "stretch": 1.0,
                    "semitones": 0, "bpm": None, "key": None, "gain_db": pytest.approx(20 * math.log10(0.891 / 0.3),
                                                                                      abs=0.02),
                    "normalised": "peak"}
    audio, rate = sf.read(tmp_path / "out.wav", dtype="float32", always_2d=True)
    assert rate == sr and audio.shape == (72_000, 1) and sf.info(tmp_path / "out.wav").subtype == "PCM_24"
    assert 20 * np.log10(np.abs(audio).max()) == pytest.approx(-1.0, abs=0.01)
    assert abs(audio[0, 0]) < 1e-3 and abs(audio[-1, 0]) < 1e-3
    for fmt in ("flac", "mp3"):
        render_region(str(source), str(tmp_path / f"out.{fmt}"), 0.5, 2.0, None, None, {**options, "fmt": fmt})
        decoded, _ = read_excerpt(tmp_path / f"out.{fmt}")
        assert decoded.shape[1] == 1 and abs(len(decoded) / sr - 1.5) < 0.1
    with pytest.raises(ExcerptError, match="ends before"):
        render_region(str(source), str(tmp_path / "none.wav"), 9.0, 10.0, None, None, options)
