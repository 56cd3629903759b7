"""Probing and decoding: every format, resampling, mixing, streaming, and every kind of broken file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core import audio
from core.config import SAMPLE_RATE
from tests import audio_factory as af
from tests.broken_files import BROKEN

FORMATS = [".wav", ".aiff", ".flac", ".ogg", ".mp3", ".m4a", ".opus"]


@pytest.fixture(scope="module")
def stereo_source() -> np.ndarray:
    """4 s stereo: tones with gaps on the left, the same at half level on the right."""
    mono = af.with_gaps([(0.5, 1.5), (2.0, 3.25)], 4.0)
    return np.stack([mono, 0.5 * mono], axis=1)


@pytest.mark.parametrize("ext", FORMATS)
def test_every_format_decodes_to_the_same_duration(tmp_path: Path, stereo_source: np.ndarray, ext: str) -> None:
    path = af.write(tmp_path / f"source{ext}", stereo_source)
    info = audio.probe(path)
    decoded = audio.decode(path)
    assert info.channels == 2
    assert decoded.dtype == np.float32 and decoded.ndim == 1
    assert abs(len(decoded) / SAMPLE_RATE - 4.0) <= 0.010
    # The gap between the tones survives every codec: silence at 1.6–1.9 s, sound at 2.2–3.0 s.
    gap = decoded[int(1.6 * SAMPLE_RATE) : int(1.9 * SAMPLE_RATE)]
    sound = decoded[int(2.2 * SAMPLE_RATE) : int(3.0 * SAMPLE_RATE)]
    assert np.sqrt(np.mean(gap**2)) < 0.01 < np.sqrt(np.mean(sound**2))


def test_probe_reports_the_header(tmp_path: Path) -> None:
    path = af.write(tmp_path / "a.flac", af.tone(440, 2.5, sr=48_000), sr=48_000)
    info = audio.probe(path)
    assert (info.format, info.codec, info.sample_rate, info.channels) == ("flac", "flac", 48_000, 1)
    assert info.duration_s == pytest.approx(2.5, abs=1e-3)
    assert info.size_bytes == path.stat().st_size


def test_resampling_keeps_pitch_and_level(tmp_path: Path) -> None:
    path = af.write(tmp_path / "a.wav", af.tone(1000, 2.0, sr=48_000, amp=0.5), sr=48_000)
    decoded = audio.decode(path)
    spectrum = np.abs(np.fft.rfft(decoded * np.hanning(len(decoded))))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / len(decoded)
    assert peak_hz == pytest.approx(1000, abs=1.0)
    assert np.max(np.abs(decoded[1000:-1000])) == pytest.approx(0.5, abs=0.01)


def test_stereo_is_mixed_to_the_mean_of_the_channels(tmp_path: Path) -> None:
    left = af.tone(440, 1.0, amp=0.6)
    path = af.write(tmp_path / "s.wav", np.stack([left, -left], axis=1))
    assert np.max(np.abs(audio.decode(path))) < 1e-3  # opposite phases cancel
    path = af.write(tmp_path / "t.wav", np.stack([left, np.zeros_like(left)], axis=1))
    assert np.max(np.abs(audio.decode(path))) == pytest.approx(0.3, abs=0.01)


@pytest.mark.parametrize("ext", [".wav", ".mp3"])
def test_decoding_streams_in_bounded_blocks(tmp_path: Path, ext: str) -> None:
    path = af.write(tmp_path / f"long{ext}", af.noise(30.0, amp=0.2))
    blocks = list(audio.iter_decode(path))
    assert len(blocks) > 3
    assert max(len(b) for b in blocks) <= audio.BLOCK_FRAMES  # never the whole file at once
    assert sum(len(b) for b in blocks) == pytest.approx(30.0 * SAMPLE_RATE, abs=SAMPLE_RATE * 0.01)


def test_a_file_longer_than_the_limit_is_refused(tmp_path: Path) -> None:
    path = af.write(tmp_path / "long.wav", af.tone(440, 3.0))
    with pytest.raises(audio.TooLong, match="longer than the limit of 0:02"):
        audio.probe(path, max_duration_s=2.0)
    with pytest.raises(audio.TooLong):
        audio.decode(path, max_duration_s=2.0)


def test_a_lying_header_is_caught_while_decoding(tmp_path: Path) -> None:
    """An MP3 says nothing exact about its length: the limit is enforced on what decodes."""
    path = af.write(tmp_path / "long.mp3", af.tone(440, 3.0))
    with pytest.raises(audio.TooLong):
        list(audio.iter_decode(path, max_duration_s=2.9))


def test_a_missing_file_is_a_decode_error(tmp_path: Path) -> None:
    with pytest.raises(audio.AudioDecodeError, match="cannot read file"):
        audio.probe(tmp_path / "nope.wav")


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_raise_a_typed_error_with_a_clear_message(tmp_path: Path, name: str) -> None:
    make, code = BROKEN[name]
    path = make(tmp_path)
    with pytest.raises(audio.AudioError) as caught:
        audio.decode(path)
    assert caught.value.code == code
    message = str(caught.value)
    assert message and "Traceback" not in message and len(message) < 300


def test_declared_frames_reads_wav_and_aiff_headers(tmp_path: Path) -> None:
    for ext in (".wav", ".aiff"):
        path = af.write(tmp_path / f"x{ext}", af.tone(440, 1.5))
        assert audio.declared_frames(path) == int(1.5 * af.SR)
    assert audio.declared_frames(af.write(tmp_path / "x.flac", af.tone(440, 1.0))) is None
