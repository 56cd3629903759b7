"""Audio the tests (and benchmarks) make for themselves: tones, noise, clicks, silences,
speech from espeak-ng, and files in every supported format.

Signals are float32 [n_samples] (mono) or [n_samples, channels]; ``sr`` in Hz.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import soundfile as sf

SR = 44_100

#: Extension → (PyAV codec, container format, encoder rate) for lossy formats.
_PYAV_FORMATS = {
    ".mp3": ("libmp3lame", "mp3", None),
    ".m4a": ("aac", "ipod", None),
    ".opus": ("libopus", "ogg", 48_000),
}
_SOUNDFILE_FORMATS = {".wav": ("WAV", "PCM_16"), ".aiff": ("AIFF", "PCM_16"), ".flac": ("FLAC", "PCM_16"),
                      ".ogg": ("OGG", "VORBIS")}


def tone(freq: float, duration_s: float, sr: int = SR, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(duration_s * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noise(duration_s: float, sr: int = SR, amp: float = 0.1, seed: int = 0) -> np.ndarray:
    return (amp * np.random.default_rng(seed).standard_normal(int(round(duration_s * sr)))).astype(np.float32)


def silence(duration_s: float, sr: int = SR) -> np.ndarray:
    return np.zeros(int(round(duration_s * sr)), np.float32)


def clicks(rate_hz: float, duration_s: float, sr: int = SR, amp: float = 0.8) -> np.ndarray:
    """Short decaying noise bursts (drum-like hits) at ``rate_hz``."""
    out = silence(duration_s, sr)
    burst = noise(0.03, sr, amp, seed=1)
    hit = burst * np.exp(-np.arange(len(burst)) / (0.006 * sr)).astype(np.float32)
    for start in (np.arange(0, duration_s, 1 / rate_hz) * sr).astype(int):
        part = hit[: len(out) - start]
        out[start : start + len(part)] += part
    return out


def with_gaps(spans: list[tuple[float, float]], total_s: float, sr: int = SR) -> np.ndarray:
    """Digital silence with a tone (of a different pitch each) in each ``[start, end)`` span."""
    out = silence(total_s, sr)
    for i, (start, end) in enumerate(spans):
        piece = tone(220 * (i + 1), end - start, sr, amp=0.4)
        out[int(round(start * sr)) : int(round(start * sr)) + len(piece)] = piece
    return out


def music(duration_s: float, sr: int = SR, bpm: float = 120.0, seed: int = 0) -> np.ndarray:
    """Music-like material: a chord per bar over a click on every beat, with a little noise."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sr))
    t = np.arange(n) / sr
    bar = 4 * 60 / bpm
    roots = np.array([220.0, 174.61, 261.63, 196.0])[(t // bar).astype(int) % 4]
    phase = 2 * np.pi * np.cumsum(roots) / sr
    chord = sum(np.sin(phase * ratio) for ratio in (1.0, 1.26, 1.5)) / 3
    out = 0.3 * chord + clicks(bpm / 60, duration_s, sr, amp=0.5) + 0.01 * rng.standard_normal(n)
    return out.astype(np.float32)


def write(path: Path, audio: np.ndarray, sr: int = SR) -> Path:
    """Write ``audio`` (float32 [n] or [n, channels]) in the format named by the extension."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext in _SOUNDFILE_FORMATS:
        fmt, subtype = _SOUNDFILE_FORMATS[ext]
        sf.write(path, audio, sr, format=fmt, subtype=subtype)
    elif ext in _PYAV_FORMATS:
        _write_pyav(path, audio, sr, *_PYAV_FORMATS[ext])
    else:
        raise ValueError(f"no writer for {ext}")
    return path


def _write_pyav(path: Path, audio: np.ndarray, sr: int, codec: str, fmt: str, rate: int | None) -> None:
    planar = np.atleast_2d(audio.T if audio.ndim == 2 else audio).astype(np.float32)
    layout = "mono" if planar.shape[0] == 1 else "stereo"
    rate = rate or sr
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout=layout, rate=rate)
        block = 4096
        for start in range(0, planar.shape[1], block):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar[:, start : start + block]),
                                               format="fltp", layout=layout)
            frame.sample_rate = sr
            frame.pts = start
            frame.time_base = Fraction(1, sr)
            for converted in resampler.resample(frame):
                for packet in stream.encode(converted):
                    out.mux(packet)
        for converted in resampler.resample(None):
            for packet in stream.encode(converted):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speech(path: Path, words: list[str], pause_ms: int = 900, voice: str | None = None, wpm: int = 175) -> Path:
    """Speak ``words`` with espeak-ng, ``pause_ms`` of silence between them, into a WAV file
    (22 050 Hz). voice: an espeak-ng voice such as ``de`` or ``en-us+f3``; wpm: words a minute."""
    ssml = "<speak>" + f' <break time="{pause_ms}ms"/> '.join(words) + "</speak>"
    options = ["-v", voice] if voice else []
    subprocess.run(["espeak-ng", "-m", "-s", str(wpm), *options, "-w", str(path), ssml], check=True,
                   capture_output=True, timeout=60)
    return Path(path)


def note(midi: float, duration_s: float, sr: int = SR, amp: float = 0.1) -> np.ndarray:
    """A plucked, piano-like note: four decaying harmonics."""
    t = np.arange(int(round(duration_s * sr))) / sr
    freq = 440.0 * 2 ** ((midi - 69) / 12)
    partials = sum((0.6**k) * np.sin(2 * np.pi * freq * (k + 1) * t) for k in range(4))
    return (amp * partials * np.exp(-t / max(duration_s / 2, 0.05))).astype(np.float32)


def progression(tonic: int, mode: str, duration_s: float, sr: int = SR, chord_s: float = 1.0) -> np.ndarray:
    """Chords that state a key: I–IV–V–I (major) or i–iv–V–i (minor, harmonic V), with a
    bass note, repeated for ``duration_s``. tonic: pitch class 0 (C) … 11 (B)."""
    third = 4 if mode == "major" else 3
    degrees = [(0, third, 7), (5, 5 + third, 12), (7, 11, 14), (0, third, 7)]
    out = silence(duration_s, sr)
    step = int(round(chord_s * sr))
    for i, start in enumerate(range(0, len(out), step)):
        chord = degrees[i % 4]
        piece = sum(note(60 + tonic + d, chord_s, sr) for d in chord) + note(48 + tonic + chord[0], chord_s, sr)
        piece = piece[: len(out) - start]
        out[start : start + len(piece)] += piece
    return out


def rhythm(bpm: float, beats_per_bar: int, duration_s: float, sr: int = SR, seed: int = 0,
           division: int = 1) -> np.ndarray:
    """A drum pattern with a bass line: kick and a bass note on each downbeat, snare on
    the other beats, hi-hat on every ``1 / division`` of a beat (3: a compound metre,
    two beats to the bar is 6/8), a new bass note every bar."""
    rng = np.random.default_rng(seed)
    out = silence(duration_s, sr)
    beat_s = 60.0 / bpm
    t_hit = np.arange(int(0.12 * sr)) / sr
    fade = np.minimum(1.0, (t_hit[-1] - t_hit) / 0.03)  # the hits end without a click
    kick = (0.8 * np.sin(2 * np.pi * 60 * t_hit) * np.exp(-t_hit / 0.05) * fade).astype(np.float32)
    snare = (0.3 * rng.standard_normal(len(t_hit)) * np.exp(-t_hit / 0.03) * fade).astype(np.float32)
    hat = (0.1 * rng.standard_normal(len(t_hit)) * np.exp(-t_hit / 0.008)).astype(np.float32)
    bass_notes = [40, 45, 43, 38]
    for i, start_s in enumerate(np.arange(0, duration_s, beat_s)):
        start = int(round(start_s * sr))
        downbeat = i % beats_per_bar == 0
        hits = [kick if downbeat else snare]
        for k in range(division):
            hat_at = start + int(round(k * beat_s / division * sr))
            part = hat[: max(0, len(out) - hat_at)]
            out[hat_at : hat_at + len(part)] += part
        if downbeat:
            hits.append(note(bass_notes[(i // beats_per_bar) % 4], beat_s * beats_per_bar, sr, amp=0.25))
        for hit in hits:
            part = hit[: len(out) - start]
            out[start : start + len(part)] += part
    return out
