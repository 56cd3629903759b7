"""One region rendered as a ready-to-use sample: cut out of its file at the file's own
sample rate (at most stereo), optionally time-stretched to a target tempo and
pitch-shifted to a target key (pedalboard's Rubber Band ``time_stretch``, one pass for
both), faded in and out, normalised to a peak or a loudness, and written as WAV, FLAC
(24-bit) or MP3 (LAME, inside pedalboard).

Decodes a user's file, so it runs in a sandbox worker (:func:`render_region` is the
task; core.exporter calls it). The pure steps are functions of their own.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core import keys
from core.excerpt import read_excerpt
from core.loudness import integrated_lufs

#: Output format → pedalboard.io.AudioFile keyword arguments.
FORMATS: dict[str, dict[str, Any]] = {"wav": {"bit_depth": 24}, "flac": {"bit_depth": 24}, "mp3": {"quality": "V2"}}
NORMALISATIONS = ("none", "peak", "lufs")
#: The ceiling a loudness normalisation may not push the peak above, dBFS.
LUFS_PEAK_CEILING_DBFS = -1.0
#: Tempo changes beyond these factors sound broken; a target twice or half as fast is
#: reached from the nearer octave instead (a 70 bpm loop serves a 140 bpm track as is).
MAX_STRETCH = 1.5


class ExportError(ValueError):
    """Export options that cannot be carried out (unknown format, bad key, bad numbers)."""


@dataclass(frozen=True)
class ExportOptions:
    """How regions are rendered.

    fmt: wav | flac | mp3. normalise: none | peak (to ``peak_dbfs``) | lufs (integrated
    loudness to ``lufs``, the peak kept under LUFS_PEAK_CEILING_DBFS). fade_in_ms,
    fade_out_ms: raised-cosine fades, milliseconds. target_bpm: tempo to stretch to (regions
    without a tempo are left as they are). target_key: "A minor", "Am", "8A" … (regions
    without a key are left as they are). template: file name, see core.exporter.
    """

    fmt: str = "wav"
    normalise: str = "none"
    peak_dbfs: float = -1.0
    lufs: float = -14.0
    fade_in_ms: float = 0.0
    fade_out_ms: float = 0.0
    target_bpm: float | None = None
    target_key: str | None = None
    template: str = "{name}_{bpm}bpm_{key}_{index}"

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise ExportError(f"unknown format {self.fmt!r}: use one of {', '.join(FORMATS)}")
        if self.normalise not in NORMALISATIONS:
            raise ExportError(f"unknown normalisation {self.normalise!r}: use one of {', '.join(NORMALISATIONS)}")
        numbers = {"peak_dbfs": self.peak_dbfs, "lufs": self.lufs, "fade_in_ms": self.fade_in_ms,
                   "fade_out_ms": self.fade_out_ms}
        if not all(math.isfinite(v) for v in numbers.values()):
            raise ExportError("levels and fades must be finite numbers")
        if self.peak_dbfs > 0 or self.lufs > 0 or self.fade_in_ms < 0 or self.fade_out_ms < 0:
            raise ExportError("peak_dbfs and lufs are at most 0, fades at least 0 ms")
        if self.target_bpm is not None and not (math.isfinite(self.target_bpm) and 20 <= self.target_bpm <= 400):
            raise ExportError(f"target bpm {self.target_bpm} is outside 20-400")
        if self.target_key is not None:
            parse_target_key(self.target_key)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_target_key(text: str) -> tuple[int, str]:
    """(tonic 0-11, mode) of a key as a user writes it. Raises ExportError."""
    try:
        return keys.parse_key(text)
    except (ValueError, IndexError) as exc:
        raise ExportError(f"unknown key {text!r}: use e.g. 'A minor', 'F#' or '8A'") from exc


def key_shift(source: str, target: str) -> tuple[int, str]:
    """Semitones (−6 … +5, the smaller way round) that move ``source`` to ``target``,
    and the key reached. A target of the other mode counts as its relative key (C major
    for an A minor source is A minor: no shift), so a minor sample stays minor."""
    tonic, mode = parse_target_key(source)
    target_tonic, target_mode = parse_target_key(target)
    if target_mode != mode:
        target_tonic += -3 if target_mode == "major" else 3
    semitones = (target_tonic - tonic + 6) % 12 - 6
    return semitones, keys.key_name(tonic + semitones, mode)


def stretch_factor(source_bpm: float, target_bpm: float) -> tuple[float, float]:
    """(speed factor, tempo reached): ``target / source``, or, when that is beyond
    MAX_STRETCH either way, the same towards half or double the target (whichever
    stretches least)."""
    reached = target_bpm
    if abs(math.log(target_bpm / source_bpm)) > math.log(MAX_STRETCH):
        reached = min((target_bpm / 2, target_bpm * 2), key=lambda bpm: abs(math.log(bpm / source_bpm)))
    return reached / source_bpm, reached


def fade(samples: np.ndarray, sr: int, fade_in_ms: float, fade_out_ms: float) -> np.ndarray:
    """samples: float32 [frames, channels]; raised-cosine fades of the given lengths
    (each at most the whole sample). Returns a new array."""
    out = samples.copy()
    for length_ms, at_start in ((fade_in_ms, True), (fade_out_ms, False)):
        n = min(len(out), round(length_ms / 1000 * sr))
        if n <= 0:
            continue
        ramp = (0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)).astype(np.float32)[:, None]
        if at_start:
            out[:n] *= ramp
        else:
            out[len(out) - n:] *= ramp[::-1]
    return out


def normalise_gain_db(samples: np.ndarray, sr: int, options: ExportOptions) -> tuple[float, str]:
    """The gain (dB) that brings samples [frames, channels] to the options' level, and
    how it was chosen: ``none``, ``peak``, ``lufs``, ``lufs, peak-limited`` (the loudness
    target would have pushed the peak over the ceiling), or ``peak (too short for
    LUFS)`` (under the 400 ms a loudness measurement needs)."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if options.normalise == "none" or peak == 0.0:
        return 0.0, "none"
    peak_db = 20 * math.log10(peak)
    if options.normalise == "peak":
        return options.peak_dbfs - peak_db, "peak"
    if len(samples) < round(0.4 * sr):
        return options.peak_dbfs - peak_db, "peak (too short for LUFS)"
    loudness = integrated_lufs([samples], sr)
    if loudness is None:
        return options.peak_dbfs - peak_db, "peak (too quiet for LUFS)"
    gain = options.lufs - loudness
    if peak_db + gain > LUFS_PEAK_CEILING_DBFS:
        return LUFS_PEAK_CEILING_DBFS - peak_db, "lufs, peak-limited"
    return gain, "lufs"


def render_region(path: str, out_path: str, start_s: float, end_s: float, bpm: float | None, key: str | None,
                  options: dict[str, Any], max_duration_s: float | None = None) -> dict[str, Any]:
    """Render seconds ``[start_s, end_s)`` of ``path`` to ``out_path`` (whose extension
    must name the format) with ``options``
    (an :class:`ExportOptions` dict). ``bpm``, ``key``: the region's stored analysis.

    Returns ``{"sample_rate", "channels", "frames", "duration_s", "stretch", "semitones",
    "bpm", "key", "gain_db", "normalised"}``: bpm and key are those of the rendered audio.
    Raises: ExportError, ExcerptError, the errors of core.audio.
    """
    from pedalboard import time_stretch
    from pedalboard.io import AudioFile

    settings = ExportOptions(**options)
    samples, sr = read_excerpt(path, start_s, end_s, max_duration_s)
    stretch, semitones = 1.0, 0
    if settings.target_bpm is not None and bpm:
        stretch, bpm = stretch_factor(bpm, settings.target_bpm)
    if settings.target_key is not None and key:
        semitones, key = key_shift(key, settings.target_key)
    if stretch != 1.0 or semitones != 0:
        samples = time_stretch(np.ascontiguousarray(samples.T), sr, stretch_factor=stretch,
                               pitch_shift_in_semitones=float(semitones)).T
    samples = fade(samples, sr, settings.fade_in_ms, settings.fade_out_ms)
    gain_db, normalised = normalise_gain_db(samples, sr, settings)
    samples = np.clip(samples * np.float32(10 ** (gain_db / 20)), -1.0, 1.0)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    with AudioFile(str(out_path), "w", sr, samples.shape[1], **FORMATS[settings.fmt]) as out:
        out.write(np.ascontiguousarray(samples.T))
    return {"sample_rate": sr, "channels": int(samples.shape[1]), "frames": len(samples),
            "duration_s": round(len(samples) / sr, 4), "stretch": round(stretch, 6), "semitones": semitones,
            "bpm": round(bpm, 3) if bpm else bpm, "key": key, "gain_db": round(gain_db, 3), "normalised": normalised}
