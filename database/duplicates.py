"""Near-identical audio in the library: the same sound stored twice (another format, bit
depth or a small gain change), plus files whose bytes are identical.

Two regions are the same sound when their vectors point the same way (cosine at least
``threshold``: what they sound like) and their amplitude envelopes, from the stored
peaks, rise and fall together (correlation at least ``ENVELOPE_MIN``: how they unfold in
time, which tells two takes of one instrument apart). Lossy codecs move YAMNet's vector
to a cosine of 0.92–0.99 with the original; gain changes move where a quiet tail falls
under the silence threshold, so lengths may differ by up to ``duration_tolerance``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from database.models import File, FileStatus, Region, RegionVector
from database.vector_index import READ_BATCH, VectorIndex, as_matrix, as_vector

#: Neighbours of each region looked at.
NEIGHBOURS = 8
#: Least correlation of two regions' envelopes over the time both span.
ENVELOPE_MIN = 0.9
#: Envelope points compared.
ENVELOPE_POINTS = 100
#: An envelope whose standard deviation is at most this share of its mean is constant.
FLAT = 0.01


def find_duplicates(session: Session, index: VectorIndex, threshold: float = 0.9,
                    duration_tolerance: float = 0.35) -> dict[str, list[dict[str, Any]]]:
    """Pairs of regions whose vectors' cosine is at least ``threshold``, whose envelopes
    correlate by ``ENVELOPE_MIN`` and whose lengths differ by at most
    ``duration_tolerance`` (a share of the longer), grouped by file.

    Returns ``{"identical_files": [{"paths", "content_hash"}], "files": [{"paths",
    "score", "regions"}], "regions": [{"score", "a", "b"}]}``: ``files`` are pairs of
    files each of whose regions has its duplicate in the other (score: the lowest),
    ``regions`` the pairs outside those; regions as ``{"id", "path", "index", "start_s",
    "end_s"}``, each list best first.
    """
    index.sync(session, force=True)
    pairs = _region_pairs(session, index, threshold, duration_tolerance)
    rows = {r.id: r for r in session.execute(
        select(Region.id, Region.file_id, Region.index, Region.start_s, Region.end_s, File.path).join(File)
        .where(Region.id.in_({i for pair in pairs for i in pair}))).all()} if pairs else {}
    counts = dict(session.execute(select(Region.file_id, func.count()).where(
        Region.file_id.in_({r.file_id for r in rows.values()})).group_by(Region.file_id)).all()) if rows else {}
    by_files: dict[tuple[int, int], list[tuple[float, int, int]]] = defaultdict(list)
    for (a, b), score in pairs.items():
        first, second = sorted((rows[a], rows[b]), key=lambda r: r.file_id)
        by_files[(first.file_id, second.file_id)].append((score, first.id, second.id))
    files, regions = [], []
    for (file_a, file_b), matched in by_files.items():
        whole = file_a != file_b and all(len({m[i] for m in matched}) == counts[f]
                                         for i, f in ((1, file_a), (2, file_b)))
        if whole:
            files.append({"paths": [rows[matched[0][1]].path, rows[matched[0][2]].path],
                          "score": round(min(m[0] for m in matched), 5), "regions": counts[file_a]})
        else:
            regions += [{"score": round(score, 5), "a": _region(rows[a]), "b": _region(rows[b])}
                        for score, a, b in matched]
    return {"identical_files": identical_files(session), "files": sorted(files, key=lambda f: -f["score"]),
            "regions": sorted(regions, key=lambda r: -r["score"])}


def identical_files(session: Session) -> list[dict[str, Any]]:
    """Analysed files whose content (sha256) is the same."""
    same = select(File.content_hash).where(File.status == FileStatus.OK).group_by(File.content_hash) \
        .having(func.count() > 1)
    found: dict[str, list[str]] = defaultdict(list)
    for content_hash, path in session.execute(select(File.content_hash, File.path)
                                              .where(File.content_hash.in_(same)).order_by(File.path)):
        found[content_hash].append(path)
    return [{"content_hash": h, "paths": paths} for h, paths in found.items()]


def _region_pairs(session: Session, index: VectorIndex, threshold: float,
                  duration_tolerance: float) -> dict[tuple[int, int], float]:
    """(smaller region id, larger) → cosine, for every near-identical pair."""
    pairs: dict[tuple[int, int], float] = {}
    after = 0
    base = (select(RegionVector.id, RegionVector.region_id, RegionVector.model, RegionVector.vector,
                   Region.duration_s, Region.peaks).join(Region).join(File)
            .where(RegionVector.kind == index.kind, File.status == FileStatus.OK))
    while batch := session.execute(base.where(RegionVector.id > after).order_by(RegionVector.id)
                                   .limit(READ_BATCH)).all():
        after = batch[-1].id
        dim = len(batch[0].vector) // 2
        batch = [row for row in batch if len(row.vector) == 2 * dim]
        found = index.search_many(as_matrix([row.vector for row in batch], dim), NEIGHBOURS + 1)
        wanted = {int(i) for i in np.unique(found) if i >= 0}
        neighbours = {row.region_id: row for row in session.execute(
            base.where(RegionVector.region_id.in_(wanted))).all()} if wanted else {}
        for row, candidates in zip(batch, found, strict=True):
            mine = as_vector(row.vector)
            for other_id in {int(i) for i in candidates if i >= 0 and i != row.region_id}:
                other = neighbours.get(other_id)
                if other is None or other.model != row.model or len(other.vector) != len(row.vector):
                    continue
                longer = max(row.duration_s, other.duration_s)
                if abs(row.duration_s - other.duration_s) > duration_tolerance * longer:
                    continue
                score = float(as_vector(other.vector) @ mine)
                if score >= threshold and envelope_similarity(row.peaks, other.peaks) >= ENVELOPE_MIN:
                    pairs[(min(row.region_id, other_id), max(row.region_id, other_id))] = score
    return pairs


def envelope_similarity(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Correlation (−1 … 1) of two regions' amplitude envelopes over the time both span
    from their starts; a, b: their stored peaks (core.waveform dicts). Independent of gain.
    Two constant envelopes (held tones: within ``FLAT`` of their mean) count as alike; the
    envelope of steady noise is not constant, and two noises are alike only where their
    peaks rise and fall together, which takes the same recording."""
    times = np.linspace(0.0, min(_duration(a), _duration(b)), ENVELOPE_POINTS)
    x, y = (np.interp(times, *_envelope(peaks)) for peaks in (a, b))
    flat_x, flat_y = x.std() <= FLAT * x.mean(), y.std() <= FLAT * y.mean()
    if flat_x or flat_y:
        return 1.0 if flat_x and flat_y else 0.0
    return float(np.corrcoef(x, y)[0, 1])


def _envelope(peaks: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(times of the bins' centres in s, peak amplitude of each bin)."""
    amplitude = np.maximum(np.abs(np.asarray(peaks["min"])), np.abs(np.asarray(peaks["max"])))
    return (np.arange(len(amplitude)) + 0.5) * peaks["samples_per_pixel"] / peaks["sample_rate"], amplitude


def _duration(peaks: dict[str, Any]) -> float:
    return len(peaks["min"]) * peaks["samples_per_pixel"] / peaks["sample_rate"]


def _region(row) -> dict[str, Any]:
    return {"id": row.id, "path": row.path, "index": row.index, "start_s": round(row.start_s, 4),
            "end_s": round(row.end_s, 4)}
