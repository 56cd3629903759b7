"""Nearest-neighbour search over the stored region vectors (``region_vectors``), with faiss.

One :class:`VectorIndex` per vector kind (``yamnet``, ``features``). It is a cache of the
table: built from it, brought up to date by reading the rows added since (their ids only
grow), kept on disk between runs, and rebuilt when many of its entries were deleted or
the library outgrew the layout it was trained for. The database stays the truth: every
search re-scores its candidates exactly against the vectors stored there, so a stale or
approximate entry can cost recall but never returns a wrong score or a deleted region.

Layouts (chosen by ``bench/similar.py``; inner product of L2-normalised vectors = cosine):

- fewer than ``IVF_FROM`` vectors: ``SQ8``, every vector scanned, 1 byte a dimension;
- from ``IVF_FROM`` on: ``PCA256,IVF{n},SQ8`` (``IVF{n},SQ8`` for vectors of ≤ 256
  dimensions): projected to 256 dimensions, in ``n = 4·√N`` clusters of which ``nprobe``
  are searched; 256 bytes a vector (256 MB at 1 000 000).
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from database.models import RegionVector

IVF_FROM = 20_000
PCA_DIM = 256
#: Training sample: at most this many vectors (faiss asks for 39 a cluster: 4·√N clusters need 156 000 at 1 M).
MAX_TRAIN = 200_000
#: Rows read from the database per round while building or catching up.
READ_BATCH = 20_000
#: Rows a catch-up reads again below the last id seen, for writers that committed late.
LOOKBACK = 5_000
#: Rebuild when fewer than this share of the entries still exist, or the library grew this many times.
LIVE_SHARE_MIN = 0.8
GROWTH_MAX = 2.0
#: At most one catch-up with the database per this many seconds (unless forced).
SYNC_INTERVAL_S = 2.0
SAVE_INTERVAL_S = 60.0
#: Queries searched at once from which all cores are used.
PARALLEL_FROM = 64


@dataclass
class IndexState:
    """What the index holds. ``last_id``: highest ``region_vectors.id`` added;
    ``entries``: vectors added; ``trained_on``: how many existed when it was built;
    ``recent``: the row ids added within ``LOOKBACK`` of ``last_id``."""

    kind: str
    dim: int
    layout: str
    last_id: int = 0
    entries: int = 0
    trained_on: int = 0
    recent: list[int] = field(default_factory=list)


class VectorIndex:
    """k-nearest regions by cosine over one kind of stored vector.

    folder: where the index is kept between runs (None: memory only).
    """

    def __init__(self, kind: str, folder: Path | None = None, nprobe: int | None = None):
        self.kind = kind
        self.folder = folder
        self.nprobe = nprobe
        self._index: faiss.Index | None = None
        self._state: IndexState | None = None
        self._lock = threading.RLock()
        self._synced_at = -math.inf
        self._saved_at = time.monotonic()
        self._unsaved = False
        if folder is not None:
            self._load()

    @property
    def state(self) -> IndexState | None:
        return self._state

    def sync(self, session: Session, force: bool = False) -> None:
        """Add the rows stored since the last sync; rebuild when the index has gone stale."""
        with self._lock:
            if not force and time.monotonic() - self._synced_at < SYNC_INTERVAL_S:
                return
            live = session.scalar(select(func.count()).select_from(RegionVector).where(RegionVector.kind == self.kind))
            state = self._state
            if state is None or live < LIVE_SHARE_MIN * state.entries or live > GROWTH_MAX * max(state.trained_on, 1) \
                    or (state.trained_on < IVF_FROM <= live):
                self._build(session, live)
            else:
                self._catch_up(session)
            self._synced_at = time.monotonic()
            if self._unsaved and time.monotonic() - self._saved_at > SAVE_INTERVAL_S:
                self.save()

    def search(self, query: np.ndarray, count: int, allowed: np.ndarray | None = None) -> np.ndarray:
        """Region ids of up to ``count`` approximate nearest neighbours of ``query``
        (float32 [dim], L2-normalised), best first; ``allowed``: int64 [n] region ids to
        keep to (searched exhaustively among those). Ids may repeat (a region whose
        vector changed) and may be of deleted regions: the caller re-scores."""
        ids = self.search_many(np.asarray(query, np.float32)[None, :], count, allowed)[0]
        return ids[ids >= 0]

    def search_many(self, queries: np.ndarray, count: int, allowed: np.ndarray | None = None) -> np.ndarray:
        """:meth:`search` for each row of ``queries`` (float32 [n, dim]): int64 [n, count],
        padded with -1. A few queries run on one thread (OpenMP's start-up costs a single
        query 25 times its search), many on all cores."""
        with self._lock:
            if self._index is None or self._index.ntotal == 0:
                return np.full((len(queries), count), -1, np.int64)
            faiss.omp_set_num_threads(1 if len(queries) < PARALLEL_FROM else os.cpu_count() or 1)
            _, ids = self._index.search(np.ascontiguousarray(queries, np.float32), count, params=self._params(allowed))
        return ids

    def save(self) -> None:
        """Write the index and its state next to each other, each atomically."""
        with self._lock:
            if self.folder is not None and self._index is not None and self._state is not None:
                self._write()

    def _write(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        index_path, state_path = self._paths()
        temporary = index_path.with_suffix(f".{os.getpid()}.tmp")
        faiss.write_index(self._index, str(temporary))
        os.replace(temporary, index_path)
        temporary = state_path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps({**asdict(self._state), "ntotal": int(self._index.ntotal)}))
        os.replace(temporary, state_path)
        self._saved_at, self._unsaved = time.monotonic(), False

    def _build(self, session: Session, live: int) -> None:
        """A new index of every stored vector of this kind."""
        self._index = None
        if live == 0:
            self._state = None
            return
        dim = session.scalar(select(RegionVector.dim).where(RegionVector.kind == self.kind).limit(1))
        layout = layout_for(live, dim)
        index = faiss.index_factory(dim, layout, faiss.METRIC_INNER_PRODUCT)
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        index.train(self._training_sample(session, live, dim))
        self._index = index
        self._state = IndexState(self.kind, dim, layout, trained_on=live)
        self._catch_up(session)
        self.save()

    def _training_sample(self, session: Session, live: int, dim: int) -> np.ndarray:
        """float32 [n, dim]: vectors spread evenly over the table."""
        wanted = min(live, MAX_TRAIN)
        step = max(1, live // wanted)
        ids = session.scalars(select(RegionVector.id).where(RegionVector.kind == self.kind)
                              .order_by(RegionVector.id)).all()[::step][:wanted]
        rows = []
        for start in range(0, len(ids), READ_BATCH):
            rows += session.execute(select(RegionVector.vector).where(
                RegionVector.id.in_(ids[start:start + READ_BATCH]), RegionVector.dim == dim)).scalars().all()
        return as_matrix(rows, dim)

    def _catch_up(self, session: Session) -> None:
        """Add the rows with ids above what was seen, and those within ``LOOKBACK`` under
        it that were not (a writer that committed after a later one)."""
        state = self._state
        seen = set(state.recent)
        after = max(0, state.last_id - LOOKBACK)
        while rows := session.execute(
                select(RegionVector.id, RegionVector.region_id, RegionVector.vector)
                .where(RegionVector.kind == self.kind, RegionVector.dim == state.dim, RegionVector.id > after)
                .order_by(RegionVector.id).limit(READ_BATCH)).all():
            after = rows[-1].id
            new = [row for row in rows if row.id not in seen]
            if new:
                self._index.add_with_ids(as_matrix([row.vector for row in new], state.dim),
                                         np.array([row.region_id for row in new], np.int64))
                state.entries += len(new)
                seen.update(row.id for row in new)
                self._unsaved = True
            state.last_id = max(state.last_id, after)
        state.recent = sorted(i for i in seen if i > state.last_id - LOOKBACK)

    def _params(self, allowed: np.ndarray | None) -> faiss.SearchParameters | None:
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, np.int64)) if allowed is not None else None
        ivf = _ivf(self._index)
        if ivf is None:
            return faiss.SearchParameters(sel=selector) if selector is not None else None
        nprobe = ivf.nlist if selector is not None else (self.nprobe or default_nprobe(ivf.nlist))
        return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe) if selector is not None \
            else faiss.SearchParametersIVF(nprobe=nprobe)

    def _paths(self) -> tuple[Path, Path]:
        return self.folder / f"{self.kind}.faiss", self.folder / f"{self.kind}.json"

    def _load(self) -> None:
        """Take the index kept on disk, if it is whole (else the next sync rebuilds it)."""
        index_path, state_path = self._paths()
        try:
            stored = json.loads(state_path.read_text())
            index = faiss.read_index(str(index_path))
        except (OSError, ValueError, RuntimeError):
            return
        ntotal = stored.pop("ntotal", None)
        if ntotal != index.ntotal or ntotal != stored.get("entries"):
            return
        self._index, self._state = index, IndexState(**stored)


class VectorIndexes:
    """The indexes kept in one folder, one per vector kind, each made when first asked for."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self._indexes: dict[str, VectorIndex] = {}
        self._lock = threading.Lock()

    def get(self, kind: str) -> VectorIndex:
        with self._lock:
            if kind not in self._indexes:
                self._indexes[kind] = VectorIndex(kind, self.folder)
            return self._indexes[kind]

    def save(self) -> None:
        for index in list(self._indexes.values()):
            index.save()


def layout_for(count: int, dim: int) -> str:
    """The faiss factory string for ``count`` vectors of ``dim`` dimensions."""
    if count < IVF_FROM:
        return "IDMap,SQ8"
    clusters = int(4 * math.sqrt(count))
    return f"PCA{PCA_DIM},IVF{clusters},SQ8" if dim > PCA_DIM else f"IVF{clusters},SQ8"


def default_nprobe(nlist: int) -> int:
    """Clusters searched: 1/64 of them, at least 16."""
    return min(nlist, max(16, nlist // 64))


def _ivf(index: faiss.Index) -> faiss.IndexIVF | None:
    try:
        return faiss.extract_index_ivf(index)
    except RuntimeError:
        return None


def as_matrix(blobs: list[bytes], dim: int) -> np.ndarray:
    """float32 [len(blobs), dim] from stored vectors (float16 little-endian bytes)."""
    return np.frombuffer(b"".join(blobs), "<f2").astype(np.float32).reshape(len(blobs), dim)


def as_vector(blob: bytes) -> np.ndarray:
    """float32 [dim] of one stored vector."""
    return np.frombuffer(blob, "<f2").astype(np.float32)
