"""The functions the engine runs inside sandbox workers (never in the caller's process).

Both take and return plain data (paths, numbers, dicts), so a call is cheap to send
and its result is JSON-able.
"""

from __future__ import annotations

import fcntl
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from core import audio, excerpt, regions, waveform
from core.config import SAMPLE_RATE, RegionSettings, Settings, use_settings
from core.pcm import PcmFile, region_samples
from core.plugin import Context, Plugin, load_ref

log = logging.getLogger(__name__)

#: Points in each region's own small waveform (for list views).
REGION_PEAK_POINTS = 200

_plugin_instances: dict[str, Plugin] = {}
_warmed: set[str] = set()


def decode_file(path: str, pcm_path: str, sr: int, max_duration_s: float, region_settings: dict) -> dict[str, Any]:
    """Decode ``path`` into ``pcm_path`` and find its regions and waveform.

    Returns: ``{"info": AudioInfo dict (duration_s as decoded), "n_samples": int, "regions": [[start, stop], ...]
    (samples), "region_peaks": [waveform dict, ...], "waveform": {"overview", "zoom"}}``.
    Raises the typed errors of :mod:`core.audio`.
    """
    info = audio.probe(path, max_duration_s)
    pcm = PcmFile.write(pcm_path, audio.iter_decode(path, sr, max_duration_s, info), sr)
    found = regions.detect(pcm, sr, RegionSettings(**region_settings))
    return {
        "info": {**info.to_dict(), "duration_s": len(pcm) / sr},
        "n_samples": len(pcm),
        "regions": [[r.start, r.stop] for r in found],
        "region_peaks": [
            waveform.peaks(pcm.window(r.start, r.stop), sr, REGION_PEAK_POINTS).to_dict() for r in found
        ],
        "waveform": {name: wf.to_dict() for name, wf in waveform.overview_and_zoom(pcm, sr).items()},
    }


def render_excerpt(path: str, out_path: str, start_s: float, end_s: float | None, fmt: str,
                   max_duration_s: float) -> dict[str, Any]:
    """Write seconds ``[start_s, end_s)`` of ``path`` to ``out_path`` (see :mod:`core.excerpt`)."""
    return excerpt.write_excerpt(path, out_path, start_s, end_s, fmt, max_duration_s)


def warm_up(plugin_refs: list[str], lock_path: str, settings: dict[str, Any]) -> None:
    """Take the engine's ``settings``, then load each plugin and run its
    :meth:`~core.plugin.Plugin.warm_up`, holding an inter-process lock: JIT caches
    (numba) written by two processes at once corrupt each other, so workers compile
    them one at a time and later load them."""
    use_settings(Settings(**settings))
    todo = [ref for ref in plugin_refs if ref not in _warmed]
    if not todo:
        return  # done already in the forkserver this worker was forked from
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            for ref in todo:
                try:
                    _plugin(ref).warm_up(SAMPLE_RATE)
                except Exception:  # the plugin's own calls will fail and say why
                    log.exception("warm-up of %s failed", ref)
                _warmed.add(ref)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_plugin(plugin_ref: str, pcm_path: str, sr: int, start: int, stop: int, context: dict) -> dict[str, Any]:
    """Run one plugin on samples ``[start, stop)`` of the decoded file (an array, or for a
    long region a window read from disk as the plugin slices it: :func:`core.pcm.region_samples`).

    Returns: the plugin's result made JSON-safe (numpy values to Python, NaN/Inf to None).
    """
    samples = region_samples(PcmFile(Path(pcm_path), sr).window(start, stop))
    result = _plugin(plugin_ref).analyze(samples, sr, Context(**context))
    if not isinstance(result, dict):
        raise TypeError(f"{plugin_ref} returned {type(result).__name__}, not a dict")
    return to_jsonable(result)


def _plugin(ref: str) -> Plugin:
    """The worker's one instance of a plugin (models load once per worker)."""
    plugin = _plugin_instances.get(ref)
    if plugin is None:
        plugin = _plugin_instances[ref] = load_ref(ref)()
    return plugin


def to_jsonable(value: Any) -> Any:
    """A copy of ``value`` that ``json.dumps`` accepts strictly (no NaN, no numpy types)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    raise TypeError(f"cannot store a value of type {type(value).__name__} in a result")
