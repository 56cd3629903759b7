"""A generated library written straight into the database tables, for benchmarks of
search at scale: files of 1 000 regions with bpm, key, loudness, content label, model
tags and (optionally) a 1024-d vector and an audio fingerprint each."""

from __future__ import annotations

import numpy as np

from core import fingerprint, waveform
from core.tasks import REGION_PEAK_POINTS
from database.models import File, Region, RegionPeaks, RegionVector, Tag
from database.session import Database

KEYS = [f"{tonic} {mode}" for tonic in ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
        for mode in ("major", "minor")]
CONTENT = ("music", "speech", "noise", "mixed", "silence")
TAGS = ("kick", "snare", "hat", "piano", "guitar", "bass", "vocal", "pad", "loop", "one-shot")
PER_FILE = 1_000
#: Regions around one point when vectors are written (sounds of a kind, takes of a sound).
PER_GROUP = 50
BATCH = 50_000


def fill(database: Database, size: int, rng: np.random.Generator, centres: np.ndarray | None = None,
         peaks: bool = False) -> None:
    """Write ``size`` regions. With ``centres`` (float32 [n, dim], unit rows), each region
    gets a vector: groups of ``PER_GROUP`` around a point near a centre, and the last region
    of every file a copy of the one before it (cosine ≈ 0.999, its fingerprint 5 % of bits
    apart; the others' fingerprints are random). With ``peaks``, each region
    its own peaks as the engine stores them (about 8 kB of JSON), so that the database
    weighs what a real library's does."""
    groups = None
    if centres is not None:
        groups = centres[rng.integers(len(centres), size=size // PER_GROUP + 1)]
        groups = unit(groups + 0.6 * unit(rng.normal(size=groups.shape)))
    shape = waveform.peaks(rng.uniform(-1, 1, 22_050).astype(np.float32), 22_050, REGION_PEAK_POINTS).to_dict()
    with database.engine.begin() as connection:
        connection.execute(File.__table__.insert(), [
            {"id": f + 1, "path": f"/bench/{f:06d}.wav", "name": f"take_{f:06d}.wav", "content_hash": f"{f:064d}",
             "size_bytes": 1, "status": "ok"} for f in range(-(-size // PER_FILE))])
        for start in range(0, size, BATCH):
            ids = np.arange(start, min(size, start + BATCH))
            connection.execute(Region.__table__.insert(), [
                {"id": int(i) + 1, "file_id": int(i) // PER_FILE + 1, "file_name": f"take_{int(i) // PER_FILE:06d}.wav",
                 "index": int(i) % PER_FILE,
                 "start_s": 0.0, "end_s": 2.0, "duration_s": float(rng.uniform(0.1, 30.0)),
                 "bpm": float(rng.uniform(60, 180)), "key": KEYS[int(rng.integers(len(KEYS)))],
                 "loudness_lufs": float(rng.uniform(-40, -6)), "content": CONTENT[int(rng.integers(len(CONTENT)))]}
                for i in ids])
            if peaks:
                connection.execute(RegionPeaks.__table__.insert(), [{"region_id": int(i) + 1, "peaks": shape}
                                                                    for i in ids])
            connection.execute(Tag.__table__.insert(), [
                {"region_id": int(i) + 1, "tag": tag, "source": "model", "confidence": float(rng.uniform())}
                for i in ids for tag in rng.choice(TAGS, 3, replace=False)])
            if groups is None:
                continue
            vectors = unit(groups[ids // PER_GROUP] + 0.5 * unit(rng.normal(size=(len(ids), centres.shape[1]))))
            copies = np.flatnonzero(ids % PER_FILE == PER_FILE - 1)
            vectors[copies] = unit(vectors[copies - 1] + 0.04 * unit(rng.normal(size=(len(copies), centres.shape[1]))))
            connection.execute(RegionVector.__table__.insert(), [
                {"region_id": int(i) + 1, "kind": "yamnet", "model": "bench", "dim": centres.shape[1],
                 "vector": v.astype("<f2").tobytes()} for i, v in zip(ids, vectors, strict=True)])
            prints = fingerprints(len(ids), rng)
            prints[copies, 1:] = prints[copies - 1, 1:] ^ flips(len(copies), rng)  # the copy: 5 % of bits differ
            connection.execute(RegionVector.__table__.insert(), [
                {"region_id": int(i) + 1, "kind": "fingerprint", "model": "bench", "dim": fingerprint.SIZE,
                 "vector": p.tobytes()} for i, p in zip(ids, prints, strict=True)])


def fingerprints(count: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 [count, fingerprint.SIZE]: fingerprints of unrelated 1.5 s sounds (random bits)."""
    prints = rng.integers(0, 256, (count, fingerprint.SIZE), dtype=np.uint8)
    prints[:, 0] = fingerprint.FRAMES
    return prints


def flips(count: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 [count, SIZE - 1]: masks that flip 5 % of a fingerprint's bits."""
    bits = rng.random((count, (fingerprint.SIZE - 1) * 8)) < 0.05
    return np.packbits(bits, axis=1)


def unit(rows: np.ndarray) -> np.ndarray:
    """float32 rows scaled to length 1."""
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)
