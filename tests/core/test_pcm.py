"""Decoded audio on disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.pcm import PcmFile, chunks, remove_stale, temp_path


def test_pcm_file_round_trips_and_slices(tmp_path: Path) -> None:
    data = np.random.default_rng(0).standard_normal(10_000).astype(np.float32)
    pcm = PcmFile.write(tmp_path / "a.f32", [data[:3000], data[3000:]], 22_050)
    assert len(pcm) == 10_000
    assert pcm.duration_s == pytest.approx(10_000 / 22_050)
    np.testing.assert_array_equal(pcm[:], data)
    np.testing.assert_array_equal(pcm[2500:7000], data[2500:7000])
    np.testing.assert_array_equal(pcm[-10:], data[-10:])
    assert len(pcm[9000:20_000]) == 1000 and len(pcm[5:5]) == 0
    with pytest.raises(ValueError):
        pcm[::2]
    with pytest.raises(TypeError):
        pcm[3]  # type: ignore[index]
    assert [len(c) for c in chunks(pcm, 4000)] == [4000, 4000, 2000]
    window = pcm.window(1000, 9000)
    assert len(window) == 8000
    np.testing.assert_array_equal(window[:], data[1000:9000])
    np.testing.assert_array_equal(window.window(500, 600)[10:20], data[1510:1520])
    assert len(pcm.window(9500, 20_000)) == 500


def test_stale_files_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"{dead.stdout.strip()}-abc-0.f32"
    stale.write_bytes(b"1234")
    mine = temp_path(tmp_path, "tag")
    mine.write_bytes(b"1234")
    assert mine.name.startswith(f"{os.getpid()}-tag-")
    assert remove_stale(tmp_path) == 1
    assert not stale.exists() and mine.exists()
