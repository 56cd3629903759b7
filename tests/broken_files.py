"""Hostile and broken files, made by the tests (never committed)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from tests import audio_factory as af


def wav_header(channels: int, rate: int, bits: int = 16, data_bytes: int = 0, tag: int = 1) -> bytes:
    """A canonical 44-byte WAV header (format ``tag`` 1: PCM, 3: float)."""
    block = channels * bits // 8
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, tag, channels, rate,
                       rate * block, block, bits, b"data", data_bytes)


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes([x % 256, 0, 0] * 8) for x in range(8))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _truncated(folder: Path, name: str, fraction: float) -> Path:
    whole = af.write(folder / f"whole-{name}", af.tone(440, 3.0))
    data = whole.read_bytes()
    whole.unlink()
    path = folder / name
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def _nan_wav(folder: Path) -> Path:
    samples = af.tone(440, 1.0)
    samples[1000:1010] = np.nan
    path = folder / "nan.wav"
    sf.write(path, samples, af.SR, subtype="FLOAT")
    return path


def _bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return make


_RANDOM = np.random.default_rng(7).integers(0, 256, 64 * 1024, dtype=np.uint8).tobytes()

#: name → (maker, expected error code)
BROKEN: dict[str, tuple[Callable[[Path], Path], str]] = {
    "zero_bytes": (_bytes("empty.wav", b""), "empty"),
    "header_only": (_bytes("header-only.wav", wav_header(2, 44_100)), "empty"),
    "truncated_wav": (lambda d: _truncated(d, "truncated.wav", 0.5), "decode_error"),
    "truncated_flac": (lambda d: _truncated(d, "truncated.flac", 0.5), "decode_error"),
    "random_wav": (_bytes("random.wav", _RANDOM), "unsupported_format"),
    "random_flac": (_bytes("random.flac", _RANDOM), "unsupported_format"),
    "random_m4a": (_bytes("random.m4a", _RANDOM), "unsupported_format"),
    "text_as_wav": (_bytes("notes.wav", b"These are my notes, not audio.\n" * 40), "unsupported_format"),
    "png_as_wav": (_bytes("picture.wav", _png()), "unsupported_format"),
    "nan_samples": (_nan_wav, "invalid_samples"),
    "zero_rate": (_bytes("zero-rate.wav", wav_header(1, 0, data_bytes=800) + bytes(800)), "unsupported_format"),
    "zero_channels": (_bytes("zero-ch.wav", wav_header(0, 44_100, data_bytes=800) + bytes(800)), "unsupported_format"),
    "absurd_rate": (_bytes("absurd-rate.wav", wav_header(1, 2_000_000_000, data_bytes=800) + bytes(800)),
                    "unsupported_format"),
    "unknown_encoding": (_bytes("unknown-tag.wav", wav_header(1, 44_100, data_bytes=800, tag=0x1234) + bytes(800)),
                         "unsupported_format"),
    "float_16_bit": (_bytes("float16.wav", wav_header(1, 44_100, data_bytes=800, tag=3) + bytes(800)),
                     "unsupported_format"),
}
