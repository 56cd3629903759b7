"""Silence detection on signals whose regions are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core import audio, regions
from core.config import SAMPLE_RATE, RegionSettings
from core.pcm import PcmFile
from tests import audio_factory as af

SR = SAMPLE_RATE
NO_PAD = RegionSettings(padding_s=0.0)


def spans_s(found: list[regions.Region]) -> list[tuple[float, float]]:
    return [(r.start_s(SR), r.end_s(SR)) for r in found]


def test_regions_are_found_where_the_sound_is(gaps_wav: Path) -> None:
    found = regions.detect(audio.decode(gaps_wav), SR, NO_PAD)
    assert len(found) == 2
    for (start, end), (want_start, want_end) in zip(spans_s(found), [(0.5, 1.5), (2.0, 3.25)], strict=True):
        assert start == pytest.approx(want_start, abs=0.05)
        assert end == pytest.approx(want_end, abs=0.05)
    assert [r.index for r in found] == [0, 1]


def test_padding_widens_regions_without_overlap() -> None:
    signal = af.with_gaps([(0.5, 1.0), (1.3, 2.0)], 2.2, sr=SR)
    padded = regions.detect(signal, SR, RegionSettings(padding_s=0.2))
    (a_start, a_end), (b_start, b_end) = spans_s(padded)
    assert a_start == pytest.approx(0.3, abs=0.05)
    assert a_end <= b_start  # the 0.3 s gap is shared, not overlapped
    assert b_end == pytest.approx(2.2, abs=1e-6)  # clamped to the end of the file


def test_short_silences_are_bridged_and_short_blips_dropped() -> None:
    signal = af.with_gaps([(0.2, 1.0), (1.1, 2.0), (3.0, 3.02)], 4.0, sr=SR)
    found = regions.detect(signal, SR, RegionSettings(padding_s=0.0, min_silence_s=0.25, min_region_s=0.05))
    assert len(found) == 1
    assert spans_s(found)[0] == pytest.approx((0.2, 2.0), abs=0.05)
    kept = regions.detect(signal, SR, RegionSettings(padding_s=0.0, min_silence_s=0.05, min_region_s=0.01))
    assert len(kept) == 3


def test_silence_gives_no_regions() -> None:
    assert regions.detect(af.silence(5.0, SR), SR) == []
    assert regions.detect(af.noise(5.0, SR, amp=0.0005), SR) == []  # hiss under the -60 dBFS floor
    assert regions.detect(np.zeros(0, np.float32), SR) == []


def test_a_quiet_recording_is_judged_against_its_own_level() -> None:
    signal = af.with_gaps([(1.0, 2.0)], 3.0, sr=SR) * 0.01  # tone at about -48 dBFS
    found = regions.detect(signal, SR, NO_PAD)
    assert spans_s(found) == [pytest.approx((1.0, 2.0), abs=0.05)]


def test_continuous_sound_is_one_region() -> None:
    found = regions.detect(af.noise(10.0, SR, amp=0.3), SR)
    assert spans_s(found) == [(0.0, 10.0)]


def test_detect_reads_a_pcm_file_like_an_array(tmp_path: Path) -> None:
    signal = af.with_gaps([(0.5, 1.5), (30.0, 31.0), (60.0, 62.0)], 70.0, sr=SR)
    pcm = PcmFile.write(tmp_path / "x.f32", [signal[:100_000], signal[100_000:]], SR)
    assert len(pcm) == len(signal)
    assert regions.detect(pcm, SR) == regions.detect(signal, SR)


def test_frame_levels_are_rms_in_dbfs() -> None:
    levels = regions.frame_levels_db(af.tone(1000, 1.0, SR, amp=1.0), 2205)
    assert levels[:-1] == pytest.approx(-3.01, abs=0.05)
    assert regions.frame_levels_db(af.silence(0.1, SR), 256).max() == -200.0


@pytest.mark.skipif(not af.espeak_available(), reason="espeak-ng is installed by `make test`")
def test_spoken_words_separated_by_pauses_are_separate_regions(tmp_path: Path) -> None:
    path = af.speech(tmp_path / "words.wav", ["Kick drum.", "Snare.", "Hi hat."], pause_ms=900)
    found = regions.detect(audio.decode(path), SR)
    assert len(found) == 3
    gaps = [b.start_s(SR) - a.end_s(SR) for a, b in zip(found, found[1:], strict=False)]
    assert all(gap > 0.5 for gap in gaps)  # the pauses, less the padding and the words' own tails
