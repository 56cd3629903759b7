"""A stretch of an audio file written out as WAV or FLAC, at the file's own sample rate
and channels: what a browser plays whatever the source format, and what a user drags
into a DAW. Runs in a sandbox worker (:func:`core.tasks.render_excerpt`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from core import audio

#: Output format → (soundfile format, subtype). 24-bit keeps what 16-bit sources hold and
#: most of a float source; FLAC is lossless and half the size.
FORMATS = {"wav": ("WAV", "PCM_24"), "flac": ("FLAC", "PCM_24")}
MEDIA_TYPES = {"wav": "audio/wav", "flac": "audio/flac"}


class ExcerptError(ValueError):
    """The stretch asked for lies outside the audio."""


def write_excerpt(path: str | Path, out_path: str | Path, start_s: float = 0.0, end_s: float | None = None,
                  fmt: str = "wav", max_duration_s: float | None = None) -> dict:
    """Write ``[start_s, end_s)`` seconds of ``path`` (to its end when ``end_s`` is None)
    to ``out_path``. Returns ``{"sample_rate", "channels", "frames"}`` written.

    Raises: ExcerptError (empty stretch, or beyond the end), the errors of core.audio.
    """
    if fmt not in FORMATS:
        raise ExcerptError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    info, channels, blocks = _blocks(path, start_s, end_s, max_duration_s)
    kind, subtype = FORMATS[fmt]
    frames = 0
    with sf.SoundFile(out_path, "w", samplerate=info.sample_rate, channels=channels, format=kind,
                      subtype=subtype) as out:
        for block in blocks:
            out.write(np.clip(block, -1.0, 1.0))
            frames += len(block)
    if frames == 0:
        Path(out_path).unlink(missing_ok=True)
        raise ExcerptError(f"the file ends before {start_s:.3f} s")
    return {"sample_rate": info.sample_rate, "channels": channels, "frames": frames}


def read_excerpt(path: str | Path, start_s: float = 0.0, end_s: float | None = None,
                 max_duration_s: float | None = None) -> tuple[np.ndarray, int]:
    """``[start_s, end_s)`` seconds of ``path`` in memory: (float32 [frames, channels ≤ 2]
    at the file's own rate, that rate in Hz).

    Raises: ExcerptError (empty stretch, or beyond the end), the errors of core.audio.
    """
    info, channels, blocks = _blocks(path, start_s, end_s, max_duration_s)
    parts = list(blocks)
    if not parts:
        raise ExcerptError(f"the file ends before {start_s:.3f} s")
    return np.concatenate(parts).astype(np.float32, copy=False), info.sample_rate


def _blocks(path: str | Path, start_s: float, end_s: float | None,
            max_duration_s: float | None) -> tuple[audio.AudioInfo, int, Iterator[np.ndarray]]:
    """The file's header, the channels written (at most 2), and the stretch as float32
    [frames, channels] blocks. Raises: ExcerptError for an empty stretch."""
    if start_s < 0 or (end_s is not None and end_s <= start_s):
        raise ExcerptError(f"no audio between {start_s} s and {end_s} s")
    info = audio.probe(path, max_duration_s)
    channels = min(info.channels, 2)
    start = round(start_s * info.sample_rate)
    stop = None if end_s is None else round(end_s * info.sample_rate)
    window = _window(audio.iter_frames(info, max_duration_s), start, stop)
    return info, channels, (_fold(block, channels) for block in window if len(block))


def _window(blocks: Iterator[np.ndarray], start: int, stop: int | None) -> Iterator[np.ndarray]:
    """The frames ``[start, stop)`` of a stream of [frames, channels] blocks."""
    position = 0
    for block in blocks:
        first, last = position, position + len(block)
        position = last
        if last <= start:
            continue
        if stop is not None and first >= stop:
            return
        yield block[max(0, start - first): None if stop is None else stop - first]


def _fold(block: np.ndarray, channels: int) -> np.ndarray:
    """block: float32 [frames, c] → [frames, channels]: more than two channels are folded
    to stereo (even channels left, odd right), as players expect at most stereo."""
    if block.shape[1] == channels:
        return block
    return np.stack([block[:, 0::2].mean(axis=1), block[:, 1::2].mean(axis=1)], axis=1)
