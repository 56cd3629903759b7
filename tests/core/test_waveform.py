"""Waveform peaks and the audiowaveform .dat layout."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from core import waveform
from core.pcm import PcmFile


def test_peaks_are_the_min_and_max_of_each_bin() -> None:
    data = np.random.default_rng(1).uniform(-0.9, 0.9, 100_003).astype(np.float32)
    wf = waveform.peaks(data, 22_050, 1000)
    spp = wf.samples_per_pixel
    assert spp == 101 and len(wf.min) == len(wf.max) == 991  # ceil(100003 / 101)
    for i in (0, 500, len(wf.min) - 1):
        part = data[i * spp : (i + 1) * spp]
        assert (wf.min[i], wf.max[i]) == (part.min(), part.max())


def test_overview_and_zoom_resolutions(tmp_path: Path) -> None:
    data = np.sin(np.linspace(0, 200 * np.pi, 2_000_000)).astype(np.float32)
    pcm = PcmFile.write(tmp_path / "a.f32", [data], 22_050)
    both = waveform.overview_and_zoom(pcm, 22_050)
    assert len(both["overview"].min) <= 1000 < len(both["zoom"].min) <= 8000
    assert both["zoom"].max.max() == pytest.approx(1.0, abs=1e-4)
    from_array = waveform.peaks(data, 22_050, 8000)
    np.testing.assert_array_equal(both["zoom"].min, from_array.min)


def test_short_audio_gives_one_point_per_sample() -> None:
    wf = waveform.peaks(np.array([0.1, -0.2, 0.3], np.float32), 22_050, 1000)
    assert wf.samples_per_pixel == 1 and wf.max.tolist() == pytest.approx([0.1, -0.2, 0.3])
    assert len(waveform.peaks(np.zeros(0, np.float32), 22_050, 10).min) == 0
    with pytest.raises(ValueError):
        waveform.peaks(np.zeros(4, np.float32), 22_050, 0)


def test_dict_round_trip_and_dat_layout() -> None:
    data = np.concatenate([np.full(100, 0.5), np.full(100, -1.0)]).astype(np.float32)
    wf = waveform.peaks(data, 22_050, 2)
    assert waveform.Waveform.from_dict(wf.to_dict()).max.tolist() == wf.max.tolist()
    dat = wf.to_dat(bits=8)
    version, flags, rate, spp, length, channels = struct.unpack("<iIiiIi", dat[:24])
    assert (version, flags, rate, spp, length, channels) == (2, 1, 22_050, 100, 2, 1)
    assert list(np.frombuffer(dat[24:], np.int8)) == [64, 64, -127, -127]
    dat16 = wf.to_dat(bits=16)
    assert struct.unpack("<I", dat16[4:8])[0] == 0
    assert list(np.frombuffer(dat16[24:], "<i2")) == [16384, 16384, -32767, -32767]
    with pytest.raises(ValueError):
        wf.to_dat(bits=12)
