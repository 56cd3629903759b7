"""Similarity search: is the same sound found again, and how fast at a million regions.

    .venv/bin/python bench/similar.py                          # both parts
    .venv/bin/python bench/similar.py --clips 40 --sizes 100000  # quicker

1. **Same sound, other file.** ``--clips`` generated clips (rendered MIDI music and
   instruments, espeak-ng speech, drum hits, noises) are each written five ways: 16-bit
   WAV, MP3 3 dB quieter, 24-bit FLAC, Ogg Vorbis 6 dB quieter, WAV resampled to 48 kHz;
   all are analysed by the engine (embeddings plugin). For every region the top hit of
   ``similar`` (itself left out) must be a version of the same clip: the table gives that
   share per kind of sound, for YAMNet's vectors and for the feature vectors, and how many
   of the true pairs ``main.py duplicates`` reports as whole-file duplicates (and how many
   pairs it reports wrongly).
2. **Scale.** For each of ``--sizes`` a SQLite library of that many regions with 1024-d
   vectors (bench/library.py: around the real embeddings of part 1, spread by noise, and
   a copy of one region in every file), built straight into the tables. The index is
   built (time, bytes), then ``similar`` (k = 20) is timed from a new session per query:
   without filters, with a bpm range (17 % of regions) and with a key (4 %); recall@10
   against exact search over all vectors; how often a copied region's copy is its top hit.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import library  # noqa: E402
from bench.tables import print_table  # noqa: E402
from core.config import RegionSettings, Settings  # noqa: E402
from core.engine import AudioSamplerEngine  # noqa: E402
from database import queries  # noqa: E402
from database.duplicates import find_duplicates  # noqa: E402
from database.models import RegionVector  # noqa: E402
from database.session import Database  # noqa: E402
from database.vector_index import VectorIndex, as_matrix, as_vector  # noqa: E402
from tests import audio_corpus as ac  # noqa: E402
from tests import audio_factory as af  # noqa: E402

SR = ac.SR
#: Version name → (extension, gain dB, sample rate).
VERSIONS = {"wav": (".wav", 0.0, SR), "mp3-3dB": (".mp3", -3.0, SR), "flac24": (".flac", 0.0, SR),
            "ogg-6dB": (".ogg", -6.0, SR), "wav48k": (".wav", 0.0, 48_000)}
KINDS = ("music", "instrument", "speech", "drum", "noise")
DUPLICATE_THRESHOLDS = (0.8, 0.9, 0.95)


# ------------------------------------------------------------------ part 1: same sound found again


def clip(kind: str, index: int) -> np.ndarray:
    """float32 [n] at SR: one evaluation clip of ``kind``, 3–6 s, without inner silences."""
    if kind == "music":
        return ac.music(index, "eval", 5.0)
    if kind == "instrument":
        return ac.instrument(("piano", "guitar", "drums")[index % 3], index // 3, "eval", 5.0)
    if kind == "speech":
        return ac.speech(index, "eval")
    if kind == "drum":
        hits = list(ac.drum_hits(ac.DRUM_KITS["eval"][index % len(ac.DRUM_KITS["eval"])]).values())
        return hits[index // len(ac.DRUM_KITS["eval"]) % len(hits)]
    return ac.noise(index, "eval", 4.0)


def write_versions(folder: Path, count: int) -> dict[str, tuple[str, str]]:
    """Every clip in every version; file name → (clip name, kind)."""
    written = {}
    for number in range(count):
        kind = KINDS[number % len(KINDS)]
        audio = clip(kind, number // len(KINDS))
        for version, (extension, gain_db, rate) in VERSIONS.items():
            name = f"{kind}{number:03d}_{version}{extension}"
            signal = audio * 10 ** (gain_db / 20)
            if rate != SR:
                signal = soxr.resample(signal, SR, rate)
            if version == "flac24":
                sf.write(folder / name, signal, rate, subtype="PCM_24")
            else:
                af.write(folder / name, signal.astype(np.float32), rate)
            written[name] = (f"{kind}{number:03d}", kind)
    return written


def duplicate_row(threshold: float, duplicates: dict, names: dict[str, tuple[str, str]], count: int) -> dict:
    """How many of the true file pairs were found, and the wrong ones by the kinds they join."""
    pairs = [tuple(sorted(names[Path(p).name] for p in pair["paths"])) for pair in duplicates["files"]]
    true_pairs = count * len(VERSIONS) * (len(VERSIONS) - 1) // 2
    right = sum(a[0] == b[0] for a, b in pairs)
    wrong = Counter("+".join(sorted({a[1], b[1]})) for a, b in pairs if a[0] != b[0])
    return {"cosine ≥": f"{threshold:.2f}", "true pairs": true_pairs, "found": right,
            "found %": 100.0 * right / true_pairs,
            "wrong pairs": sum(wrong.values()), "wrong by kind": dict(wrong) or "-",
            "region pairs outside files": len(duplicates["regions"])}


def same_sound(count: int, workdir: Path) -> list[np.ndarray]:
    """Part 1; returns the YAMNet vectors found (the centres of part 2)."""
    folder = workdir / "clips"
    folder.mkdir()
    started = time.perf_counter()
    names = write_versions(folder, count)
    print(f"wrote {len(names)} files in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    settings = Settings(data_dir=workdir / "data", database_url="", plugins=["embeddings"], region=RegionSettings())
    with AudioSamplerEngine(settings) as engine:
        started = time.perf_counter()
        failed = [r["path"] for r in engine.analyze_paths([folder]) if r["status"] != "ok"]
        print(f"analysed in {time.perf_counter() - started:.0f} s; failed: {failed}", file=sys.stderr)
        with engine.database.session() as session:
            regions = session.execute(text("SELECT regions.id, files.name FROM regions JOIN files "
                                           "ON files.id = regions.file_id")).all()
            rows = []
            for kind in ("yamnet", "features"):
                index = VectorIndex(kind)
                hits: dict[str, list[bool]] = defaultdict(list)
                for region_id, name in regions:
                    found = queries.similar_regions(session, index, region_id, 1)
                    top = names.get(found[0]["name"]) if found else None
                    hits[names[name][1]].append(top is not None and top[0] == names[name][0])
                rows.append({"vectors": kind, **{k: 100.0 * np.mean(v) for k, v in sorted(hits.items())},
                             "all %": 100.0 * np.mean([h for v in hits.values() for h in v]),
                             "regions": sum(len(v) for v in hits.values())})
            found = {threshold: find_duplicates(session, VectorIndex("yamnet"), threshold)
                     for threshold in DUPLICATE_THRESHOLDS}
            vectors = [as_vector(v) for v in session.scalars(
                text("SELECT vector FROM region_vectors WHERE kind = 'yamnet'"))]
    print_table(f"Top hit is another version of the same clip, % ({count} clips × {len(VERSIONS)} versions)", rows)
    print_table("main.py duplicates, by least cosine (the default is 0.9)",
                [duplicate_row(threshold, duplicates, names, count) for threshold, duplicates in found.items()])
    return vectors


# ------------------------------------------------------------------ part 2: scale


def exact_top(database: Database, query: np.ndarray, k: int) -> set[int]:
    best: list[tuple[float, int]] = []
    with database.session() as session:
        after = 0
        while rows := session.execute(text("SELECT id, region_id, vector FROM region_vectors WHERE kind = 'yamnet' "
                                           "AND id > :a ORDER BY id LIMIT 50000"), {"a": after}).all():
            after = rows[-1][0]
            scores = as_matrix([r[2] for r in rows], len(query)) @ query
            best += [(float(scores[i]), rows[i][1]) for i in np.argsort(-scores)[: k + 1]]
            best = sorted(best, reverse=True)[: k + 1]
    return {region for _, region in best}


def scale(size: int, centres: np.ndarray, workdir: Path, queries_per_case: int) -> dict:
    rng = np.random.default_rng(size)
    database = Database(f"sqlite:///{workdir / f'scale{size}.db'}")
    database.migrate()
    started = time.perf_counter()
    library.fill(database, size, rng, centres)
    filled_s = time.perf_counter() - started
    index = VectorIndex("yamnet", workdir / f"index{size}")
    started = time.perf_counter()
    with database.session() as session:
        index.sync(session, force=True)
    build_s = time.perf_counter() - started
    index_mb = (workdir / f"index{size}" / "yamnet.faiss").stat().st_size / 2**20
    row = {"regions": size, "fill s": filled_s, "index build s": build_s, "index MB": index_mb,
           "layout": index.state.layout}
    ids = rng.integers(1, size + 1, queries_per_case)
    cases = {"no filter": {}, "bpm 100-120": {"bpm_min": 100.0, "bpm_max": 120.0}, "key": {"keys": ("A minor",)}}
    for case, filters in cases.items():
        times = []
        for region_id in ids:
            started = time.perf_counter()
            with database.session() as session:
                queries.similar_regions(session, index, int(region_id), 20,
                                        queries.RegionQuery(**filters) if filters else None)
            times.append(1000 * (time.perf_counter() - started))
        row[f"{case} p50 ms"] = statistics.median(times)
        row[f"{case} p95 ms"] = float(np.percentile(times, 95))
        print(f"{size}: {case} p50 {row[f'{case} p50 ms']:.1f} ms, p95 {row[f'{case} p95 ms']:.1f} ms", file=sys.stderr)
    recalls = []
    with database.session() as session:
        for region_id in ids[:30]:
            found = queries.similar_regions(session, index, int(region_id), 10)
            vector = as_vector(session.scalar(select(RegionVector.vector).where(
                RegionVector.region_id == int(region_id), RegionVector.kind == "yamnet")))
            truth = exact_top(database, vector, 10) - {int(region_id)}
            recalls.append(len(truth & {r["id"] for r in found}) / len(truth))
        originals = np.arange(library.PER_FILE - 1, size, library.PER_FILE)[:queries_per_case]  # copied next
        copy_found = [queries.similar_regions(session, index, int(i), 1)[0]["id"] == i + 1 for i in originals]
    row["recall@10 %"] = 100.0 * float(np.mean(recalls))
    row["copy top hit %"] = 100.0 * float(np.mean(copy_found))
    database.dispose()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=100, help="clips in part 1 (0: skip it)")
    parser.add_argument("--sizes", default="100000,1000000", help="library sizes of part 2 ('' to skip it)")
    parser.add_argument("--queries", type=int, default=200, help="timed queries per case")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="similar-bench-") as tmp:
        workdir = Path(tmp)
        centres = same_sound(args.clips, workdir) if args.clips else []
        if not centres:
            centres = list(np.random.default_rng(0).normal(size=(500, 1024)).astype(np.float32))
        sizes = [int(s) for s in args.sizes.split(",") if s]
        rows = [scale(size, np.array(centres), workdir, args.queries) for size in sizes]
        if rows:
            print_table("Similar regions (k = 20) at scale, SQLite, one process", rows)


if __name__ == "__main__":
    main()
