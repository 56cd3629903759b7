"""Embeddings kept on disk, keyed by the model that made them and the audio they describe,
so that unchanged audio is never run through a model again (a re-analysis, a new plugin
version, a file copied or renamed, the same region in another library on the machine).

Key: the model's name with its version (``yamnet-int8 (sead 0.2.1)``: a new model or
version is a new key) and a BLAKE2b digest of the region's audio as the plugin receives
it (float32 samples and their sample rate). Value: the vector as stored in results
(L2-normalised float16), so a hit gives the very bytes a computation would.

Layout: ``<folder>/<model slug>/<digest[:2]>/<digest>.f16``, written to a temporary
name and renamed, so that concurrent workers and a killed one never leave half a file;
an unreadable or wrongly sized file is a miss (and is written again).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import uuid
from pathlib import Path

import numpy as np

from core.pcm import PcmFile, chunks

DTYPE = "<f2"


def audio_digest(audio: np.ndarray | PcmFile, sr: int) -> str:
    """Hex BLAKE2b-256 of ``audio`` (float32 [n]) at ``sr`` Hz, read a chunk at a time."""
    digest = hashlib.blake2b(digest_size=32)
    digest.update(f"{int(sr)}:".encode())
    for block in chunks(audio):
        digest.update(np.ascontiguousarray(block, np.float32))
    return digest.hexdigest()


class EmbeddingCache:
    """Vectors on disk under ``folder`` (None: nothing is kept, every lookup misses)."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    def get(self, model: str, digest: str, dim: int) -> np.ndarray | None:
        """The float16 [dim] vector kept for ``model`` and ``digest``, or None."""
        path = self._path(model, digest)
        if path is None:
            return None
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        if len(raw) != 2 * dim:
            return None
        return np.frombuffer(raw, DTYPE)

    def put(self, model: str, digest: str, vector: np.ndarray) -> None:
        """Keep ``vector`` (float [dim], kept as float16); a disk that refuses is ignored."""
        path = self._path(model, digest)
        if path is None:
            return
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(np.asarray(vector, DTYPE).tobytes())
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)

    def _path(self, model: str, digest: str) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / slug(model) / digest[:2] / f"{digest}.f16"


def slug(model: str) -> str:
    """A folder name for ``model``: its letters, digits and ``.-`` kept, the rest ``_``,
    with a short hash of the exact name so that two names never share a folder."""
    readable = re.sub(r"[^A-Za-z0-9.-]+", "_", model).strip("_")[:80]
    return f"{readable}-{hashlib.blake2b(model.encode(), digest_size=4).hexdigest()}"
