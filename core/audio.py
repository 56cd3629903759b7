"""Probe and decode audio files to mono float32 at :data:`core.config.SAMPLE_RATE`.

Decoding streams: :func:`iter_decode` yields blocks of a few seconds, so a caller that
writes them out (:func:`decode_to_pcm`) never holds more than one block, and
:func:`decode` never holds more than the decoded mono array itself.

PyAV (FFmpeg) reads every container and codec; soundfile is the fast path for PCM in
WAV/AIFF/FLAC. Resampling is soxr (HQ). Every failure is an :class:`AudioError`
subclass with a message a user can act on.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import numpy as np
import soundfile as sf
import soxr

from core.config import SAMPLE_RATE

#: Sample rates accepted in a file header, Hz.
MIN_SOURCE_RATE = 1_000
MAX_SOURCE_RATE = 768_000
#: Channels accepted in a file header.
MAX_CHANNELS = 64
#: Source frames read per block.
BLOCK_FRAMES = 1 << 17
#: Codecs whose header states the exact length, so a shortfall means truncation.
_EXACT_LENGTH_CODECS = ("pcm_", "flac", "alac", "wavpack")
#: Containers soundfile reads natively (its fast path).
_SOUNDFILE_FORMATS = {"wav", "aiff", "flac", "w64", "caf"}
#: Decoded audio past the stated length up to this much is encoder padding, seconds.
_MAX_PADDING_S = 0.1
#: Decoded audio may fall short of the header by this fraction before it is "truncated".
_TRUNCATION_TOLERANCE = 0.01


class AudioError(Exception):
    """A file that cannot be analysed; ``code`` is stored as the file's error code."""

    code = "audio_error"


class UnsupportedFormat(AudioError):
    code = "unsupported_format"


class AudioDecodeError(AudioError):
    code = "decode_error"


class EmptyAudio(AudioError):
    code = "empty"


class TooLong(AudioError):
    code = "too_long"


class InvalidSamples(AudioError):
    code = "invalid_samples"


@dataclass(frozen=True)
class AudioInfo:
    """What the container says about a file, before decoding.

    duration_s: length stated by the header, seconds (0.0 when unknown).
    """

    path: str
    size_bytes: int
    format: str
    codec: str
    sample_rate: int
    channels: int
    duration_s: float

    def to_dict(self) -> dict:
        return asdict(self)


def probe(path: str | Path, max_duration_s: float | None = None) -> AudioInfo:
    """Read the header of ``path`` and check that it is audio we can decode.

    Raises EmptyAudio (0 bytes), UnsupportedFormat (not audio, no audio stream, absurd
    rate or channel count), AudioDecodeError (unreadable container), TooLong.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AudioDecodeError(f"cannot read file: {exc.strerror or exc}") from exc
    if size == 0:
        raise EmptyAudio("the file is empty (0 bytes)")
    with _open_container(path) as container:
        stream = _audio_stream(container)
        ctx = stream.codec_context
        rate, channels = int(ctx.sample_rate or 0), int(ctx.channels or 0)
        duration = _stated_duration(container, stream)
        info = AudioInfo(
            path=str(path),
            size_bytes=size,
            format=container.format.name.split(",")[0],
            codec=ctx.name,
            sample_rate=rate,
            channels=channels,
            duration_s=duration,
        )
    _check_header(info, max_duration_s)
    return info


def iter_decode(
    path: str | Path, sr: int = SAMPLE_RATE, max_duration_s: float | None = None, info: AudioInfo | None = None
) -> Iterator[np.ndarray]:
    """Decode ``path`` block by block (``info``: its :func:`probe`, when already known).

    Yields: float32 [n] mono blocks at ``sr`` Hz (the last may be short).
    Raises the errors of :func:`iter_frames`.
    """
    info = info or probe(path, max_duration_s)
    resampler = soxr.ResampleStream(info.sample_rate, sr, 1, dtype="float32", quality="HQ")
    for block in iter_frames(info, max_duration_s):
        out = resampler.resample_chunk(_to_mono(block), last=False)
        if len(out):
            yield out
    tail = resampler.resample_chunk(np.zeros(0, np.float32), last=True)
    if len(tail):
        yield tail


def iter_frames(info: AudioInfo, max_duration_s: float | None = None) -> Iterator[np.ndarray]:
    """The file of ``info`` (:func:`probe`) as it is: float32 [frames, channels] blocks
    at its own sample rate, encoder padding dropped.

    Raises InvalidSamples (NaN/Inf), EmptyAudio (no samples), AudioDecodeError (corrupt
    or truncated data), TooLong.
    """
    source = _soundfile_blocks if _use_soundfile(info) else _pyav_blocks
    limit = math.inf if max_duration_s is None else max_duration_s * info.sample_rate
    read = 0
    try:
        for block in _drop_padding(source(info), round(info.duration_s * info.sample_rate),
                                   round(_MAX_PADDING_S * info.sample_rate)):
            if not np.isfinite(block).all():
                at = (read + int(np.argmin(np.isfinite(block).all(axis=1)))) / info.sample_rate
                raise InvalidSamples(f"the audio contains NaN or infinite samples (first at {at:.3f} s)")
            read += len(block)
            if read > limit:
                raise TooLong(f"the audio is longer than the limit of {_fmt_duration(max_duration_s)}")
            yield block
    except AudioError:
        raise
    except (av.FFmpegError, sf.LibsndfileError, RuntimeError, ValueError, OSError) as exc:
        raise AudioDecodeError(f"the audio data is corrupt: {_reason(exc)}") from exc
    _check_length(info, read)


def decode(path: str | Path, sr: int = SAMPLE_RATE, max_duration_s: float | None = None) -> np.ndarray:
    """Decode a whole file. Returns: float32 [n_samples] mono at ``sr`` Hz."""
    return np.concatenate(list(iter_decode(path, sr, max_duration_s)) or [np.zeros(0, np.float32)])


def _open_container(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise UnsupportedFormat(f"not a recognised audio file ({_reason(exc)})") from exc
    except (UnicodeDecodeError, ValueError, OSError) as exc:
        raise AudioDecodeError(f"the file cannot be opened: {_reason(exc)}") from exc


def _audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream:
    if not container.streams.audio:
        kinds = sorted({s.type for s in container.streams}) or ["no streams"]
        raise UnsupportedFormat(
            f"the file holds no audio stream ({container.format.long_name}: {', '.join(kinds)})"
        )
    stream = container.streams.audio[0]
    if stream.codec_context is None:  # an encoding FFmpeg has no decoder for (an unknown WAV format tag, say)
        raise UnsupportedFormat(f"the audio is in an encoding this server cannot decode ({container.format.long_name})")
    return stream


def _stated_duration(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _check_header(info: AudioInfo, max_duration_s: float | None) -> None:
    if not MIN_SOURCE_RATE <= info.sample_rate <= MAX_SOURCE_RATE:
        raise UnsupportedFormat(
            f"sample rate {info.sample_rate} Hz is outside {MIN_SOURCE_RATE}–{MAX_SOURCE_RATE} Hz"
        )
    if not 1 <= info.channels <= MAX_CHANNELS:
        raise UnsupportedFormat(f"{info.channels} channels is outside 1–{MAX_CHANNELS}")
    if max_duration_s is not None and info.duration_s > max_duration_s:
        raise TooLong(
            f"the file is {_fmt_duration(info.duration_s)} long, "
            f"longer than the limit of {_fmt_duration(max_duration_s)}"
        )


def _check_length(info: AudioInfo, frames_read: int) -> None:
    if frames_read == 0:
        raise EmptyAudio("the file holds no audio samples")
    if not info.codec.startswith(_EXACT_LENGTH_CODECS):
        return
    stated = declared_frames(Path(info.path)) or info.duration_s * info.sample_rate
    if frames_read < stated * (1 - _TRUNCATION_TOLERANCE):
        raise AudioDecodeError(
            f"the file is truncated: its header says {stated / info.sample_rate:.2f} s "
            f"but only {frames_read / info.sample_rate:.2f} s of audio are present"
        )


def declared_frames(path: Path) -> int | None:
    """Sample frames a WAV (RIFF) or AIFF header declares, read from its chunks.

    FFmpeg and libsndfile both shrink the length of a cut-off file to what is there;
    this reads what the header promised. None for other formats or an unknown length.
    """
    with open(path, "rb") as handle:
        head = handle.read(12)
        big_endian = head[:4] == b"FORM"
        if len(head) < 12 or (head[:4], head[8:12]) not in ((b"RIFF", b"WAVE"), (b"FORM", b"AIFF"), (b"FORM", b"AIFC")):
            return None
        order = ">" if big_endian else "<"
        block_align = None
        while len(header := handle.read(8)) == 8:
            kind, size = header[:4], struct.unpack(order + "I", header[4:])[0]
            if kind == b"COMM":
                return struct.unpack(">I", handle.read(6)[2:6])[0] or None
            if kind == b"fmt ":
                block_align = struct.unpack("<H", handle.read(min(size, 16))[12:14])[0]
                handle.seek(size - min(size, 16) + (size & 1), 1)
                continue
            if kind == b"data":
                unknown = size in (0, 0xFFFFFFFF) or not block_align
                return None if unknown else size // block_align
            handle.seek(size + (size & 1), 1)
    return None


def _drop_padding(blocks: Iterator[np.ndarray], stated: int, max_padding: int) -> Iterator[np.ndarray]:
    """Pass ``blocks`` ([frames, channels]) through, except up to ``max_padding`` frames
    past the ``stated`` length: encoder padding (AAC's last frame, say), not audio.
    A longer excess means the header was wrong, and it is all kept."""
    seen = 0
    held: list[np.ndarray] = []
    held_frames = 0
    for block in blocks:
        if stated <= 0 or (not held and seen + len(block) <= stated):
            seen += len(block)
            yield block
            continue
        inside = max(0, stated - seen)
        if inside:
            yield block[:inside]
        seen += len(block)
        held.append(block[inside:])
        held_frames += len(block) - inside
        if held_frames > max_padding:
            yield from held
            held, stated = [], 0


def _to_mono(block: np.ndarray) -> np.ndarray:
    """block: float32 [frames, channels] → float32 [frames], the mean of the channels.

    Summed column by column: numpy's mean over the short axis is several times slower.
    """
    mono = block[:, 0].copy()
    for channel in range(1, block.shape[1]):
        mono += block[:, channel]
    if block.shape[1] > 1:
        mono *= np.float32(1 / block.shape[1])
    return mono


def _use_soundfile(info: AudioInfo) -> bool:
    return info.format in _SOUNDFILE_FORMATS and info.codec.startswith(("pcm_", "flac"))


def _soundfile_blocks(info: AudioInfo) -> Iterator[np.ndarray]:
    """Yields: float32 [frames, channels] at the file's own rate."""
    with sf.SoundFile(info.path) as handle:
        if handle.samplerate != info.sample_rate:
            raise AudioDecodeError(
                f"the header is inconsistent ({handle.samplerate} Hz vs {info.sample_rate} Hz)"
            )
        yield from handle.blocks(blocksize=BLOCK_FRAMES, dtype="float32", always_2d=True)


def _pyav_blocks(info: AudioInfo) -> Iterator[np.ndarray]:
    """Yields: float32 [frames, channels] at the file's own rate."""
    pending: list[np.ndarray] = []
    pending_frames = 0
    with _open_container(Path(info.path)) as container:
        stream = _audio_stream(container)
        resampler = None
        for frame in container.decode(stream):
            if frame.sample_rate != info.sample_rate:
                raise AudioDecodeError(
                    f"the sample rate changes inside the file ({info.sample_rate} → {frame.sample_rate} Hz)"
                )
            if resampler is None:  # float planar at the source layout and rate: no mixing, no resampling
                resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=frame.sample_rate)
            for converted in resampler.resample(frame):
                pending.append(converted.to_ndarray().T)
                pending_frames += converted.samples
            if pending_frames >= BLOCK_FRAMES:
                yield np.concatenate(pending)
                pending, pending_frames = [], 0
        if resampler is not None:
            pending.extend(c.to_ndarray().T for c in resampler.resample(None))
    if pending:
        yield np.concatenate(pending)


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.strip().rstrip(".")


def _fmt_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
