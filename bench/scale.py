"""Scale: a library scan on a LocalCluster against the plain process pool, memory against file
length, and how soon the server answers.

    .venv/bin/python bench/scale.py                      # all three tables
    .venv/bin/python bench/scale.py --only scan --files 200 --plugins features
    .venv/bin/python bench/scale.py --only memory --minutes 1 10 30 120
    .venv/bin/python bench/scale.py --only startup

- **scan**: ``main.py scan LIBRARY`` (the process pool of AUDIO_SAMPLER_WORKERS=2) and
  ``main.py scan LIBRARY --cluster local`` (a LocalCluster of 2 single-threaded worker
  processes, each with its own engine), each into a fresh SQLite database, on a generated
  library of ``--files`` files (a third drum hits of 0.3-1 s, a third tones between
  silences of 3-6 s, a third music loops of 4-12 s): files per minute from the command's
  start to its end (start-up included), and the same without the first file's wait
  (start-up and warm-up: from the first file stored to the last, per file after the first).
- **memory**: ``main.py analyze FILE`` on generated 1, 10, 30 and 120-minute music files
  with every plugin and 2 workers (bench/speed.py's engine measurement): x real time, peak
  of the summed PSS of the whole process tree (what the targets are judged on: workers
  fork from one forkserver and share its pages) and peak of the summed RSS (which counts
  those shared pages once per process).
- **startup**: ``main.py serve`` with the default settings, from the process's start to
  the first ``GET /health`` answered (polled every 10 ms), five times: wall clock, and the
  CPU seconds the server's processes used by then (start-up runs on one thread, so that is
  about the wait on an idle machine; on a busy one the wall clock is longer).

Targets (issue 8): the 120-minute file under 1.5 GB and within 20 % of the 10-minute
file's figure; ``/health`` within 3 s.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from speed import make_music, measure_engine  # noqa: E402
from tables import print_table  # noqa: E402

from bench.server import start as start_server  # noqa: E402
from tests import audio_factory as af  # noqa: E402

WORKERS = 2


def make_library(folder: Path, n: int) -> int:
    """``n`` FLAC files of three kinds (see the module docstring); returns seconds of audio."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(8)
    total = 0.0
    for i in range(n):
        kind = i % 3
        if kind == 0:
            audio = af.clicks(1.0, rng.uniform(0.3, 1.0))
        elif kind == 1:
            length = rng.uniform(3.0, 6.0)
            audio = af.with_gaps([(0.2, length / 2 - 0.3), (length / 2, length - 0.2)], length)
        else:
            audio = af.music(rng.uniform(4.0, 12.0), bpm=float(rng.uniform(80, 160)), seed=i)
        af.write(folder / f"{i:03d}-{('hit', 'tones', 'loop')[kind]}.flac", audio)
        total += len(audio) / af.SR
    return total


def time_scan(library: Path, data_dir: Path, plugins: str | None, cluster: bool) -> dict:
    env = {**os.environ, "AUDIO_SAMPLER_DATA_DIR": str(data_dir), "AUDIO_SAMPLER_WORKERS": str(WORKERS)}
    command = [sys.executable, "main.py", "scan", str(library), *(["--plugins", plugins] if plugins else []),
               *(["--cluster", "local"] if cluster else [])]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[1:])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    with closing(sqlite3.connect(data_dir / "audio.db")) as db:
        stamps = sorted(_epoch(t) for (t,) in db.execute("SELECT analyzed_at FROM files WHERE status = 'ok'"))
    files = len(stamps)
    steady = (files - 1) / (stamps[-1] - stamps[0]) * 60 if files > 1 and stamps[-1] > stamps[0] else None
    return {"files": files, "seconds": seconds, "files_per_min": files / seconds * 60, "steady_per_min": steady}


def _epoch(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp).timestamp()


def scan_table(files: int, plugins: str | None, workdir: Path) -> None:
    library = workdir / "library"
    audio_s = make_library(library, files)
    rows = []
    for label, cluster in (("process pool", False), ("LocalCluster", True)):
        result = time_scan(library, workdir / f"data-{'cluster' if cluster else 'pool'}", plugins, cluster)
        rows.append({"scan": label, "workers": WORKERS, "files": result["files"], "seconds": result["seconds"],
                     "files/min": result["files_per_min"], "files/min after the first": result["steady_per_min"],
                     "x real time": audio_s / result["seconds"]})
    print_table(f"Scan of {files} generated files ({audio_s / 60:.1f} min of audio), plugins: {plugins or 'all'}",
                rows)


def memory_table(minutes: list[float], workdir: Path) -> None:
    rows = []
    for length in minutes:
        path = make_music(workdir / f"music-{length:g}min.wav", length)
        result = measure_engine(path, workdir, length * 60)
        rows.append({"file": f"{length:g} min", "x real time": result["x_real_time"], "seconds": result["seconds"],
                     "peak PSS MB (tree)": result["peak_rss_mb"], "peak RSS MB (tree, summed)":
                         result["peak_rss_sum_mb"]})
        path.unlink()
        print(f"  {length:g} min: {rows[-1]}", file=sys.stderr, flush=True)
    by_length = {row["file"]: row["peak PSS MB (tree)"] for row in rows}
    title = f"Engine (main.py analyze, every plugin, {WORKERS} workers) on generated music"
    if "10 min" in by_length and "120 min" in by_length:
        title += f"; 120 min / 10 min PSS: {by_length['120 min'] / by_length['10 min']:.2f}"
    print_table(title, rows)


def time_to_health(data_dir: Path) -> tuple[float, float]:
    """Seconds from starting ``main.py serve`` to its first ``/health`` answer, and the CPU seconds
    its processes used by then (what the wait would be on an idle machine: start-up is one thread)."""
    started = time.perf_counter()
    server, _ = start_server({**os.environ, "AUDIO_SAMPLER_DATA_DIR": str(data_dir)}, poll_s=0.01)
    try:
        wall = time.perf_counter() - started
        tree = psutil.Process(server.pid)
        return wall, sum(sum(p.cpu_times()[:2]) for p in [tree, *tree.children(recursive=True)])
    finally:
        server.terminate()
        server.wait(timeout=60)


def startup_table(runs: int, workdir: Path) -> None:
    runs_ = [time_to_health(workdir / "data-serve") for _ in range(runs)]
    print_table(f"main.py serve → first /health answered ({runs} runs, seconds)", [
        {"measure": label, "median": statistics.median(values), "min": min(values), "max": max(values)}
        for label, values in (("wall clock", [r[0] for r in runs_]), ("CPU (user+sys)", [r[1] for r in runs_]))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["scan", "memory", "startup"], action="append",
                        help="run only these tables (repeatable)")
    parser.add_argument("--files", type=int, default=200, help="files in the scanned library (default 200)")
    parser.add_argument("--plugins", help="plugins of the scans (default: all)")
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10, 30, 120])
    parser.add_argument("--runs", type=int, default=5, help="server starts timed (default 5)")
    args = parser.parse_args()
    only = set(args.only or ["scan", "memory", "startup"])
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        workdir = Path(tmp)
        if "startup" in only:
            startup_table(args.runs, workdir)
        if "scan" in only:
            scan_table(args.files, args.plugins, workdir)
        if "memory" in only:
            memory_table(args.minutes, workdir)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
