"""Musical key of a region: Essentia through the bridge, librosa chroma as the fallback.

Result schema:

================  ==================================================================
``tonic``         pitch class name, C C# D Eb E F F# G Ab A Bb B
``mode``          ``major`` or ``minor``
``key``           ``"A minor"``
``camelot``       Camelot wheel code, ``"8A"``
``strength``      how clearly the key is stated, 0 … 1 (Essentia's strength, or the
                  profile correlation of the fallback)
``method``        ``essentia`` or ``librosa``; ``profile``: the key profile used
``key_changes``   ``[{"time_s", "key", "camelot"}]``: where another key takes over for
                  at least two analysis windows (regions of 60 s and more), else ``[]``;
                  ``time_s`` is good to about ``HOP_S / 2`` (7.5 s)
``fallback_reason``  why Essentia was not used (only with ``method: librosa``)
================  ==================================================================

Regions shorter than ``min_duration_s`` (3 s) are ``not_applicable``: a key needs a
few seconds of harmony.
"""

from __future__ import annotations

from typing import Any

import librosa
import numpy as np

from core import keys
from core.bridge import Bridge, BridgeError, experimental_bridge
from core.pcm import chunks
from core.plugin import Context, Plugin

#: Windows for key changes: length and hop, seconds; only regions of two windows or more.
WINDOW_S = 30.0
HOP_S = 15.0
#: Essentia's key profile, and the fallback's (chosen by bench/accuracy.py).
ESSENTIA_PROFILE = "bgate"
FALLBACK_PROFILE = "albrecht"
_CHROMA_HOP = 2048
_CHUNK_S = 60.0


class KeyFinder(Plugin):
    name = "key_finder"
    version = "1.1.0"
    min_duration_s = 3.0
    timeout_s = 60.0
    memory_mb = 800
    description = "Key, mode, Camelot code and key changes (Essentia in its own process, librosa fallback)"

    def __init__(self, essentia_profile: str = ESSENTIA_PROFILE, fallback_profile: str = FALLBACK_PROFILE) -> None:
        self.essentia_profile = essentia_profile
        self.fallback_profile = fallback_profile
        self._bridge: Bridge | None = None

    @property
    def bridge(self) -> Bridge:
        """The bridge of the current settings, unless one was given (tests do)."""
        return self._bridge or experimental_bridge()

    @bridge.setter
    def bridge(self, bridge: Bridge) -> None:
        self._bridge = bridge

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict[str, Any]:
        """audio: float32 [n_samples] at ``sr`` Hz (one region)."""
        windowed = len(audio) / sr >= 2 * WINDOW_S
        try:
            return self.essentia_key(audio, sr, windowed)
        except BridgeError as exc:
            return {**self.librosa_key(audio, sr, windowed), "fallback_reason": str(exc)}

    def warm_up(self, sr: int) -> None:
        """Compile the fallback's kernels (the bridge starts on first use, in the worker)."""
        t = np.arange(int(self.min_duration_s * sr)) / sr
        self.librosa_key(np.sin(2 * np.pi * 440 * t).astype(np.float32), sr, windowed=False)

    @classmethod
    def summarize(cls, results: list[dict[str, Any]], durations_s: list[float]) -> dict[str, Any]:
        """The file's key: the key that covers the most region time."""
        time_by_key: dict[str, float] = {}
        for result, duration in zip(results, durations_s, strict=True):
            time_by_key[result["key"]] = time_by_key.get(result["key"], 0.0) + duration
        if not time_by_key:
            return {}
        key = max(time_by_key, key=time_by_key.__getitem__)
        return {"key": key, "camelot": keys.camelot(*keys.parse_key(key))}

    # ------------------------------------------------------------------ methods

    def essentia_key(self, audio: np.ndarray, sr: int, windowed: bool = False) -> dict[str, Any]:
        """Essentia's KeyExtractor through the bridge; raises BridgeError without it."""
        params: dict[str, Any] = {"sample_rate": sr, "profile": self.essentia_profile}
        if windowed:
            params.update(window_s=WINDOW_S, hop_s=HOP_S)
        answer = self.bridge.call("key", params, audio, timeout_s=30 + len(audio) / sr / 10)
        windows = [(w["start_s"], keys.pitch_class(w["key"]), w["scale"]) for w in answer.get("windows", [])]
        return _result(keys.pitch_class(answer["key"]), answer["scale"], answer["strength"], windows,
                       "essentia", self.essentia_profile)

    def librosa_key(self, audio: np.ndarray, sr: int, windowed: bool = False) -> dict[str, Any]:
        """Chroma (STFT, 4096-point) summed over the region, correlated with key profiles."""
        frames = np.concatenate([
            librosa.feature.chroma_stft(y=block, sr=sr, n_fft=2 * _CHROMA_HOP, hop_length=_CHROMA_HOP, tuning=0.0)
            for block in chunks(audio, int(_CHUNK_S * sr) // _CHROMA_HOP * _CHROMA_HOP)
            if len(block) >= 2 * _CHROMA_HOP or len(block) == len(audio)  # a tail shorter than a frame adds nothing
        ], axis=1)
        tonic, mode, strength, _ = keys.estimate(frames.sum(axis=1), self.fallback_profile)
        windows = []
        if windowed:
            per_s = sr / _CHROMA_HOP
            for start in np.arange(0, len(audio) / sr - WINDOW_S + 1e-9, HOP_S):
                part = frames[:, int(start * per_s) : int((start + WINDOW_S) * per_s)]
                w_tonic, w_mode, _, _ = keys.estimate(part.sum(axis=1), self.fallback_profile)
                windows.append((float(start), w_tonic, w_mode))
        return _result(tonic, mode, max(0.0, strength), windows, "librosa", self.fallback_profile)


def _result(tonic: int, mode: str, strength: float, windows: list[tuple[float, int, str]], method: str,
            profile: str) -> dict[str, Any]:
    return {
        "tonic": keys.PITCH_CLASSES[tonic],
        "mode": mode,
        "key": keys.key_name(tonic, mode),
        "camelot": keys.camelot(tonic, mode),
        "strength": float(strength),
        "method": method,
        "profile": profile,
        "key_changes": key_changes(windows),
    }


def key_changes(windows: list[tuple[float, int, str]]) -> list[dict[str, Any]]:
    """Where another key takes over: two consecutive windows agreeing on a key other
    than the current one. windows: (start_s, tonic, mode) in time order."""
    changes: list[dict[str, Any]] = []
    if not windows:
        return changes
    current = windows[0][1:]
    for (start, *key), (_, *following) in zip(windows, windows[1:], strict=False):
        if tuple(key) != current and key == following:
            current = tuple(key)
            changes.append({"time_s": start + HOP_S / 2, "key": keys.key_name(*current),
                            "camelot": keys.camelot(*current)})
    return changes
