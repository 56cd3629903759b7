"""Hostile and broken files, made by the tests (never committed)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from tests import audio_factory as af


def chunk(kind: bytes, data: bytes, size: int | None = None, order: str = "<") -> bytes:
    """A RIFF (``order`` "<") or IFF (">") chunk; ``size``: what its header claims (default: the truth)."""
    return kind + struct.pack(order + "I", len(data) if size is None else size) + data + b"\0" * (len(data) & 1)


def riff(*chunks: bytes, size: int | None = None) -> bytes:
    """A WAV file of ``chunks``; ``size``: what the RIFF header claims."""
    return chunk(b"RIFF", b"WAVE" + b"".join(chunks), size)


def fmt_chunk(channels: int = 1, rate: int = 44_100, bits: int = 16, tag: int = 1, block: int | None = None,
              size: int | None = None) -> bytes:
    """A WAV ``fmt `` chunk (``tag`` 1: PCM, 3: float) with any value, however absurd."""
    block = channels * bits // 8 if block is None else block
    body = struct.pack("<HHIIHH", tag, channels, rate, rate * block & 0xFFFFFFFF, block, bits)
    return chunk(b"fmt ", body, size)


def wav_header(channels: int, rate: int, bits: int = 16, data_bytes: int = 0, tag: int = 1) -> bytes:
    """A canonical 44-byte WAV header announcing ``data_bytes`` of samples (not included)."""
    return riff(fmt_chunk(channels, rate, bits, tag), chunk(b"data", b"", data_bytes), size=36 + data_bytes)


def aiff(samples: bytes, channels: int = 1, frames: int | None = None, bits: int = 16,
         rate: bytes = b"\x40\x0e\xac\x44" + bytes(6), comm_size: int = 18) -> bytes:
    """An AIFF file of 16-bit big-endian ``samples``; ``rate``: the 80-bit extended float of the
    COMM chunk (default 44 100 Hz), ``frames``/``comm_size``: what the header claims."""
    frames = len(samples) // (2 * max(channels, 1)) if frames is None else frames
    comm = struct.pack(">hIh", channels, frames, bits) + rate
    sound = struct.pack(">II", 0, 0) + samples
    body = b"AIFF" + chunk(b"COMM", comm[:comm_size], comm_size, ">") + chunk(b"SSND", sound, order=">")
    return chunk(b"FORM", body, order=">")


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


_TONE = (af.tone(440, 0.5) * 20_000).astype("<i2").tobytes()

#: Hand-made WAV and AIFF headers with absurd values: file name → (bytes, expected error code or "ok").
HANDMADE: dict[str, tuple[bytes, str]] = {
    "fmt-2-bytes.wav": (riff(chunk(b"fmt ", b"\x01\x00"), chunk(b"data", _TONE)), "unsupported_format"),
    "fmt-4gib.wav": (riff(fmt_chunk(size=0xFFFFFFF0), chunk(b"data", _TONE)), "unsupported_format"),
    "data-4gib.wav": (riff(fmt_chunk(), chunk(b"data", _TONE, 0xFFFFFFF0)), "decode_error"),
    "data-unknown-length.wav": (riff(fmt_chunk(), chunk(b"data", _TONE, 0xFFFFFFFF)), "ok"),  # a streamed WAV
    "data-0.wav": (riff(fmt_chunk(), chunk(b"data", _TONE, 0)), "empty"),
    "riff-size-0.wav": (riff(fmt_chunk(), chunk(b"data", _TONE), size=0), "ok"),
    "data-before-fmt.wav": (riff(chunk(b"data", _TONE), fmt_chunk()), "decode_error"),
    "no-fmt.wav": (riff(chunk(b"data", _TONE)), "unsupported_format"),
    "no-data.wav": (riff(fmt_chunk()), "unsupported_format"),
    "two-data.wav": (riff(fmt_chunk(), chunk(b"data", _TONE), chunk(b"data", _TONE)), "decode_error"),
    "list-2gib.wav": (riff(fmt_chunk(), chunk(b"LIST", b"INFO", 0x7FFFFFFF), chunk(b"data", _TONE)),
                      "unsupported_format"),
    "bits-0.wav": (riff(fmt_chunk(bits=0, block=2), chunk(b"data", _TONE)), "unsupported_format"),
    "bits-48.wav": (riff(fmt_chunk(bits=48), chunk(b"data", _TONE[:len(_TONE) // 6 * 6])), "unsupported_format"),
    "bits-64-pcm.wav": (riff(fmt_chunk(bits=64), chunk(b"data", _TONE)), "decode_error"),
    "block-align-0.wav": (riff(fmt_chunk(block=0), chunk(b"data", _TONE)), "ok"),
    "block-align-65535.wav": (riff(fmt_chunk(block=65535), chunk(b"data", _TONE)), "ok"),
    "channels-0.wav": (riff(fmt_chunk(channels=0, block=2), chunk(b"data", _TONE)), "unsupported_format"),
    "channels-65535.wav": (riff(fmt_chunk(channels=65535, block=2), chunk(b"data", _TONE)), "unsupported_format"),
    "channels-100.wav": (riff(fmt_chunk(channels=100), chunk(b"data", _TONE[:len(_TONE) // 200 * 200])),
                         "unsupported_format"),
    "rate-0.wav": (riff(fmt_chunk(rate=0), chunk(b"data", _TONE)), "unsupported_format"),
    "rate-1.wav": (riff(fmt_chunk(rate=1), chunk(b"data", _TONE)), "unsupported_format"),
    "rate-1000.wav": (riff(fmt_chunk(rate=1000), chunk(b"data", _TONE)), "ok"),
    "rate-768000.wav": (riff(fmt_chunk(rate=768_000), chunk(b"data", _TONE)), "ok"),
    "rate-4g.wav": (riff(fmt_chunk(rate=0xFFFFFFFF), chunk(b"data", _TONE)), "unsupported_format"),
    "rf64-garbage.wav": (b"RF64\xff\xff\xff\xffWAVE" + chunk(b"ds64", bytes(range(28))) + fmt_chunk()
                         + chunk(b"data", _TONE, 0xFFFFFFFF), "too_long"),
    "fine.aiff": (aiff(_TONE), "ok"),
    "channels-0.aiff": (aiff(_TONE, channels=0), "unsupported_format"),
    "channels-negative.aiff": (aiff(_TONE, channels=-1), "unsupported_format"),
    "frames-4g.aiff": (aiff(_TONE, frames=0xFFFFFFFF), "unsupported_format"),
    "rate-inf.aiff": (aiff(_TONE, rate=b"\x7f\xff\x80" + bytes(7)), "unsupported_format"),
    "rate-nan.aiff": (aiff(_TONE, rate=b"\x7f\xff\xc0" + bytes(7)), "unsupported_format"),
    "rate-0.aiff": (aiff(_TONE, rate=bytes(10)), "unsupported_format"),
    "rate-2e19.aiff": (aiff(_TONE, rate=b"\x40\x3e\xff" + bytes(7)), "unsupported_format"),
    "rate-1.aiff": (aiff(_TONE, rate=b"\x3f\xff\x80" + bytes(7)), "unsupported_format"),
    "bits-0.aiff": (aiff(_TONE, bits=0), "decode_error"),
    "bits-99.aiff": (aiff(_TONE, bits=99), "unsupported_format"),
    "comm-3-bytes.aiff": (aiff(_TONE, comm_size=3), "unsupported_format"),
}
