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
                  at least two analysis windows (regions of about 60 s and more), else
                  ``[]``; ``time_s`` is good to about half a window's hop (7.4 s)
``fallback_reason``  why Essentia was not used (only with ``method: librosa``)
================  ==================================================================

Regions shorter than ``min_duration_s`` (3 s) are ``not_applicable``: a key needs a
few seconds of harmony.

Both methods read the region a block (``BLOCK_SAMPLES``) at a time and keep one summed
pitch-class profile per block: the region's key comes from the mean of all of them, each
window's (two blocks, a block apart) from the mean of its two. Essentia's worker is sent
``BLOCKS_PER_CALL`` blocks a call, framed as its KeyExtractor frames the whole region, so
memory does not grow with length on either side of the bridge.
"""

from __future__ import annotations

from typing import Any

import librosa
import numpy as np

from core import keys
from core.bridge import Bridge, BridgeError, experimental_bridge
from core.pcm import PcmFile, chunks
from core.plugin import Context, Plugin

#: Samples summed into one profile: 80 of Essentia's frames, 160 of the fallback's chroma
#: frames (14.9 s at 22 050 Hz). A window for key changes is two blocks, one block apart;
#: regions of two windows and more are windowed.
BLOCK_SAMPLES = 327_680
WINDOW_BLOCKS = 2
#: Blocks sent to Essentia's worker in one call (about a minute).
BLOCKS_PER_CALL = 4
#: Essentia's KeyExtractor frame (and hop), samples; its frames are centred on multiples of it.
ESSENTIA_FRAME = 4096
#: Essentia's key profile, and the fallback's (chosen by bench/accuracy.py).
ESSENTIA_PROFILE = "bgate"
FALLBACK_PROFILE = "albrecht"
_CHROMA_HOP = 2048


class KeyFinder(Plugin):
    name = "key_finder"
    version = "1.2.0"
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

    def analyze(self, audio: np.ndarray | PcmFile, sr: int, ctx: Context) -> dict[str, Any]:
        """audio: float32 [n_samples] at ``sr`` Hz (one region)."""
        windowed = len(audio) >= 2 * WINDOW_BLOCKS * BLOCK_SAMPLES
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

    def essentia_key(self, audio: np.ndarray | PcmFile, sr: int, windowed: bool = False) -> dict[str, Any]:
        """Essentia's KeyExtractor through the bridge, a few blocks a call; raises BridgeError
        without it."""
        sums, counts = [], []
        step, half = BLOCKS_PER_CALL * BLOCK_SAMPLES, ESSENTIA_FRAME // 2
        for start in range(0, len(audio), step):
            # sent from half a frame earlier, so the worker's frames are KeyExtractor's
            lo, hi = start - half, (start + step - half if start + step < len(audio) else len(audio))
            stretch = np.concatenate([np.zeros(max(0, -lo), np.float32), audio[max(0, lo) : hi]])
            answer = self.bridge.call("hpcp", {"sample_rate": sr, "block_samples": BLOCK_SAMPLES}, stretch,
                                      timeout_s=30 + len(stretch) / sr / 10)
            sums += [block["sum"] for block in answer["blocks"]]
            counts += [block["frames"] for block in answer["blocks"]]
        profiles = block_profiles(np.array(sums), np.array(counts), windowed)
        found = self.bridge.call("key", {"profile": self.essentia_profile, "pcps": profiles.tolist()},
                                 timeout_s=30)["keys"]
        (tonic, mode, strength), *windows = [(keys.pitch_class(k["key"]), k["scale"], k["strength"]) for k in found]
        return _result(tonic, mode, strength, windows, BLOCK_SAMPLES / sr, "essentia", self.essentia_profile)

    def librosa_key(self, audio: np.ndarray | PcmFile, sr: int, windowed: bool = False) -> dict[str, Any]:
        """Chroma (STFT, 4096-point) summed a block at a time, correlated with key profiles."""
        sums, counts = [], []
        for block in chunks(audio, BLOCK_SAMPLES):
            if len(block) < 2 * _CHROMA_HOP and sums:  # a tail shorter than a frame adds nothing
                continue
            chroma = librosa.feature.chroma_stft(y=block, sr=sr, n_fft=2 * _CHROMA_HOP, hop_length=_CHROMA_HOP,
                                                 tuning=0.0)
            sums.append(chroma.sum(axis=1))
            counts.append(chroma.shape[1])
        profiles = block_profiles(np.array(sums), np.array(counts), windowed)
        (tonic, mode, strength), *windows = [keys.estimate(p, self.fallback_profile)[:3] for p in profiles]
        return _result(tonic, mode, max(0.0, strength), windows, BLOCK_SAMPLES / sr, "librosa",
                       self.fallback_profile)


def block_profiles(sums: np.ndarray, counts: np.ndarray, windowed: bool) -> np.ndarray:
    """sums: float [n_blocks, 12] summed profiles; counts: int [n_blocks] frames in each →
    float [1 + n_windows, 12]: the mean profile of the region, then (when ``windowed``) of
    each window of ``WINDOW_BLOCKS`` blocks, one block apart."""
    profiles = [sums.sum(axis=0) / max(1, counts.sum())]
    if windowed:
        for first in range(len(sums) - WINDOW_BLOCKS + 1):
            span = slice(first, first + WINDOW_BLOCKS)
            profiles.append(sums[span].sum(axis=0) / max(1, counts[span].sum()))
    return np.array(profiles)


def _result(tonic: int, mode: str, strength: float, windows: list[tuple[int, str, float]], hop_s: float,
            method: str, profile: str) -> dict[str, Any]:
    """windows: (tonic, mode, strength) of each window, in order, ``hop_s`` apart."""
    return {
        "tonic": keys.PITCH_CLASSES[tonic],
        "mode": mode,
        "key": keys.key_name(tonic, mode),
        "camelot": keys.camelot(tonic, mode),
        "strength": float(strength),
        "method": method,
        "profile": profile,
        "key_changes": key_changes([(i * hop_s, w_tonic, w_mode) for i, (w_tonic, w_mode, _) in enumerate(windows)],
                                   hop_s),
    }


def key_changes(windows: list[tuple[float, int, str]], hop_s: float) -> list[dict[str, Any]]:
    """Where another key takes over: two consecutive windows agreeing on a key other
    than the current one, placed half a hop into the first. windows: (start_s, tonic,
    mode) in time order, ``hop_s`` apart."""
    changes: list[dict[str, Any]] = []
    if not windows:
        return changes
    current = windows[0][1:]
    for (start, *key), (_, *following) in zip(windows, windows[1:], strict=False):
        if tuple(key) != current and key == following:
            current = tuple(key)
            changes.append({"time_s": start + hop_s / 2, "key": keys.key_name(*current),
                            "camelot": keys.camelot(*current)})
    return changes
