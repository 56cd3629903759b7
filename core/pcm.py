"""Decoded audio kept on disk as raw float32, read back in slices.

A file being analysed is decoded once into a ``.f32`` file under the data folder's
``tmp/``; region detection, the waveform and every plugin worker read the slices they
need from it, so no process holds more than the slice it works on. A region longer than
``IN_MEMORY_SAMPLES`` reaches plugins as a :class:`PcmFile` window (see
:func:`region_samples`), which they read a chunk at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

_DTYPE = np.dtype("<f4")
#: Samples read per chunk by :meth:`PcmFile.chunks` (about 47 s at 22 050 Hz).
CHUNK_SAMPLES = 1 << 20
#: Regions up to this many samples (about 47 s at 22 050 Hz) reach plugins as arrays.
IN_MEMORY_SAMPLES = CHUNK_SAMPLES


class PcmFile:
    """A read-only, array-like view of mono float32 samples stored in ``path``.

    ``len(pcm)`` is the number of samples; ``pcm[a:b]`` reads float32 [b - a] from disk;
    ``np.asarray(pcm)`` reads them all (for code that needs the whole region at once).
    """

    def __init__(self, path: str | Path, sample_rate: int):
        self.path = Path(path)
        self.sample_rate = sample_rate
        self._offset = 0
        self._n = self.path.stat().st_size // _DTYPE.itemsize

    def window(self, start: int, stop: int) -> PcmFile:
        """Samples ``[start, stop)`` as a PcmFile of their own, without reading them."""
        start, stop, _ = slice(start, stop).indices(self._n)
        view = PcmFile.__new__(PcmFile)
        view.path, view.sample_rate = self.path, self.sample_rate
        view._offset, view._n = self._offset + start, max(0, stop - start)
        return view

    def __len__(self) -> int:
        return self._n

    @property
    def duration_s(self) -> float:
        return self._n / self.sample_rate

    def __getitem__(self, item: slice) -> np.ndarray:
        if not isinstance(item, slice):
            raise TypeError("PcmFile supports slices only")
        start, stop, step = item.indices(self._n)
        if step != 1:
            raise ValueError("PcmFile slices must be contiguous")
        count = max(0, stop - start)
        if count == 0:
            return np.zeros(0, np.float32)
        offset = (self._offset + start) * _DTYPE.itemsize
        return np.fromfile(self.path, dtype=_DTYPE, count=count, offset=offset).astype(
            np.float32, copy=False
        )

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        samples = self[:]
        return samples if dtype is None else samples.astype(dtype, copy=False)

    @classmethod
    def write(cls, path: str | Path, blocks: Iterable[np.ndarray], sample_rate: int) -> PcmFile:
        """Write ``blocks`` (float32 [n] each) to ``path`` and return the view on it."""
        path = Path(path)
        with open(path, "wb") as handle:
            for block in blocks:
                handle.write(np.ascontiguousarray(block, dtype=_DTYPE).tobytes())
        return cls(path, sample_rate)


def region_samples(view: PcmFile) -> np.ndarray | PcmFile:
    """What a plugin receives for the region ``view``: its samples read into memory when it
    is at most ``IN_MEMORY_SAMPLES`` long, else the window itself (read as it is sliced)."""
    return view[:] if len(view) <= IN_MEMORY_SAMPLES else view


def chunks(audio: np.ndarray | PcmFile, size: int = CHUNK_SAMPLES) -> Iterator[np.ndarray]:
    """Yield consecutive float32 slices of at most ``size`` samples of ``audio``."""
    for start in range(0, len(audio), size):
        yield audio[start : start + size]


def mean_square(audio: np.ndarray | PcmFile) -> float:
    """Mean of the squared samples of ``audio`` (0.0 when empty), a chunk at a time."""
    total = sum(float(np.dot(block, block.astype(np.float64))) for block in chunks(audio))
    return total / len(audio) if len(audio) else 0.0


def remove_stale(folder: Path) -> int:
    """Delete ``.f32`` files in ``folder`` whose owning process is gone.

    Files are named ``<pid>-<anything>.f32`` by :func:`temp_path`. Returns the count removed.
    """
    removed = 0
    for path in folder.glob("*.f32"):
        pid = path.name.split("-", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def temp_path(folder: Path, tag: str) -> Path:
    """A fresh path in ``folder`` for the decoded audio of one file."""
    return folder / f"{os.getpid()}-{tag}-{os.urandom(6).hex()}.f32"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
