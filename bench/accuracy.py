"""Accuracy of key, tempo and metre on a generated corpus (see bench/corpus.py).

    .venv/bin/python bench/accuracy.py                  # everything (make bench)
    .venv/bin/python bench/accuracy.py --only key       # or: tempo
    .venv/bin/python bench/accuracy.py --corpus DIR     # where rendered audio is cached

Key: every Essentia profile through the bridge and every fallback profile, each scored
by exact match and the MIREX weighted score (1 exact, 0.5 fifth, 0.3 relative,
0.2 parallel); the plugin's choices are marked ``*``.
Tempo: the plugin (madmom) and its librosa fallback, scored by Accuracy1 (within 4 %
of the reference), Accuracy2 (also at ×2, ×½, ×3, ×⅓) and beats per bar (madmom only).
Each row also gives x real time on one core.

Targets (issue 4): key exact ≥ 92 %, weighted ≥ 95 %; Accuracy1 ≥ 95 %, Accuracy2 ≥ 99 %;
beats per bar ≥ 90 %.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import corpus  # noqa: E402
from bench.tables import print_table  # noqa: E402
from core import keys, rhythm  # noqa: E402
from core.config import SAMPLE_RATE  # noqa: E402
from core.plugin import Context  # noqa: E402
from plugins import key_finder, tempo_meter  # noqa: E402

ESSENTIA_PROFILES = ("bgate", "shaath", "edma", "edmm", "krumhansl", "temperley", "temperley2005", "noland",
                     "diatonic")
TOLERANCE = 0.04
FACTORS = (1.0, 2.0, 0.5, 3.0, 1 / 3)


def key_rows(pieces: list[corpus.KeyPiece], every_profile: bool = True) -> list[dict]:
    """One row per method and profile (only the plugin's profiles without ``every_profile``)."""
    audio = [samples for _, samples in corpus.iter_audio([p.path for p in pieces], SAMPLE_RATE)]
    seconds = sum(len(a) for a in audio) / SAMPLE_RATE
    essentia = ESSENTIA_PROFILES if every_profile else (key_finder.ESSENTIA_PROFILE,)
    fallback = keys.PROFILES if every_profile else (key_finder.FALLBACK_PROFILE,)
    candidates = [("essentia", profile, key_finder.KeyFinder(essentia_profile=profile).essentia_key)
                  for profile in essentia]
    candidates += [("librosa", profile, key_finder.KeyFinder(fallback_profile=profile).librosa_key)
                   for profile in fallback]
    rows = []
    for method, profile, estimate in candidates:
        started, exact, weighted, confusions = time.perf_counter(), [], [], Counter()
        for piece, samples in zip(pieces, audio, strict=True):
            found = estimate(samples, SAMPLE_RATE)
            guess = (keys.pitch_class(found["tonic"]), found["mode"])
            score = keys.mirex_score(guess, (piece.tonic, piece.mode))
            exact.append(score == 1.0)
            weighted.append(score)
            confusions[_relation(score)] += 1
        chosen = profile == (key_finder.ESSENTIA_PROFILE if method == "essentia" else key_finder.FALLBACK_PROFILE)
        rows.append({"method": method, "profile": profile + (" *" if chosen else ""),
                     "exact %": 100 * np.mean(exact), "weighted %": 100 * np.mean(weighted),
                     "errors": ", ".join(f"{k} {v}" for k, v in sorted(confusions.items()) if k != "exact"),
                     "x real time": seconds / (time.perf_counter() - started)})
    return rows


def _relation(score: float) -> str:
    return {1.0: "exact", 0.5: "fifth", 0.3: "relative", 0.2: "parallel"}.get(score, "other")


def tempo_rows(clips: list[corpus.RhythmClip]) -> list[dict]:
    """madmom (the plugin) and librosa (its fallback) on every clip."""
    audio = [samples for _, samples in corpus.iter_audio([c.path for c in clips], SAMPLE_RATE)]
    seconds = sum(len(a) for a in audio) / SAMPLE_RATE
    plugin = tempo_meter.TempoMeter()
    plugin.warm_up(SAMPLE_RATE)
    rows, misses = [], []
    for method in ("madmom", "librosa"):
        started, acc1, acc2, bpb = time.perf_counter(), [], [], []
        for clip, samples in zip(clips, audio, strict=True):
            if method == "madmom":
                found = plugin.analyze(samples, SAMPLE_RATE, Context(str(clip.path), 0, 0.0))
            else:
                found = rhythm.describe(tempo_meter.librosa_beats(samples, SAMPLE_RATE), None)
            ratio = found["bpm"] / clip.bpm
            acc1.append(abs(ratio - 1) <= TOLERANCE)
            acc2.append(any(abs(ratio / f - 1) <= TOLERANCE for f in FACTORS))
            if method == "madmom":
                bpb.append(found["beats_per_bar"] == clip.beats_per_bar)
                if not (acc1[-1] and bpb[-1]):
                    misses.append(f"  {clip.name}: {found['bpm']} bpm, {found['time_signature']}")
        rows.append({"method": method, "clips": len(clips), "Acc1 %": 100 * np.mean(acc1),
                     "Acc2 %": 100 * np.mean(acc2), "beats/bar %": 100 * np.mean(bpb) if bpb else None,
                     "x real time": seconds / (time.perf_counter() - started)})
    if misses:
        print("madmom misses (tempo or metre):", *misses, sep="\n")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "bench" / ".corpus")
    parser.add_argument("--only", choices=("key", "tempo"))
    args = parser.parse_args()
    threadpool_limits(1)
    if args.only != "tempo":
        pieces = corpus.key_pieces(args.corpus / "key")
        modes = Counter(p.mode for p in pieces)
        print_table(f"Key: {len(pieces)} chorales, {len({p.tonic for p in pieces})} tonics, "
                    f"{modes['major']} major / {modes['minor']} minor (piano, organ, strings, guitar)",
                    key_rows(pieces))
        hard = corpus.key_pieces(args.corpus / "key-hard", count=24, programs=corpus.HARD_PROGRAMS)
        print_table(f"Key, other timbres: {len(hard)} chorales played by choir and clarinet",
                    key_rows(hard, every_profile=False))
    if args.only != "key":
        clips = corpus.rhythm_clips(args.corpus / "rhythm")
        signatures = Counter(c.time_signature for c in clips)
        print_table(f"Tempo and metre: {len(clips)} clips ("
                    + ", ".join(f"{n} in {s}" for s, n in signatures.items()) + ")", tempo_rows(clips))


if __name__ == "__main__":
    main()
