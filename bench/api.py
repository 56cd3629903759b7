"""Latency of the search endpoints on a large library, through a real server process.

    .venv/bin/python bench/api.py                    # 100 000 regions, SQLite
    .venv/bin/python bench/api.py --regions 1000000  # a million
    DATABASE_URL=postgresql+psycopg://… .venv/bin/python bench/api.py   # another database (emptied first)

A library of generated regions (bench/library.py: bpm, key, loudness, content, three
model tags each) is written straight into the database; ``main.py serve`` runs in its
own process on it; each search below is sent ``--requests`` times, one at a time, over
one keep-alive connection, and its latency (client side, whole HTTP round trip) printed
as p50 / p95 with the number of matches.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import library  # noqa: E402
from bench.tables import print_table  # noqa: E402
from database.session import Database  # noqa: E402
from tests.live_server import free_port  # noqa: E402

SEARCHES = {
    "regions, first page": ("/api/regions", {}),
    "bpm 120-130": ("/api/regions", {"bpm_min": 120, "bpm_max": 130}),
    "key 8A + compatible": ("/api/regions", {"key": "8A", "compatible": "true"}),
    "content music, by loudness": ("/api/regions", {"content": "music", "sort": "loudness", "order": "desc"}),
    "tag kick ≥ 0.5": ("/api/regions", {"tag": "kick", "tag_min": 0.5}),
    "bpm + key + content + tag": ("/api/regions", {"bpm_min": 90, "bpm_max": 140, "key": "A minor",
                                                   "content": "music", "tag": "piano"}),
    "sorted by bpm, page 100": ("/api/regions", {"sort": "bpm", "offset": 5_000}),
    "name contains": ("/api/regions", {"query": "take_00004"}),
    "files, bpm 120-130": ("/database/files", {"bpm_min": 120, "bpm_max": 130}),
    "region detail": ("/api/regions/{id}", {}),
}


def serve(data_dir: Path, database_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "AUDIO_SAMPLER_DATA_DIR": str(data_dir), "DATABASE_URL": database_url,
           "AUDIO_SAMPLER_PLUGINS": '["features"]', "AUDIO_SAMPLER_WORKERS": "1"}
    server = subprocess.Popen([sys.executable, "main.py", "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not start")


def measure(url: str, regions: int, requests: int) -> list[dict]:
    rng = np.random.default_rng(1)
    rows = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for name, (path, params) in SEARCHES.items():
            times, matches = [], None
            for _ in range(requests):
                target = path.format(id=int(rng.integers(1, regions + 1)))
                started = time.perf_counter()
                response = client.get(target, params=params)
                times.append(1000 * (time.perf_counter() - started))
                response.raise_for_status()
                matches = response.json().get("total", 1)
            rows.append({"search": name, "matches": matches, "p50 ms": statistics.median(times),
                         "p95 ms": float(np.percentile(times, 95))})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="per search")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp:
        data_dir = Path(tmp)
        url = os.environ.get("DATABASE_URL", "") or f"sqlite:///{data_dir / 'audio.db'}"
        database = Database(url)
        database.migrate()
        with database.engine.begin() as connection:
            for table in ("tags", "regions", "files"):
                connection.exec_driver_sql(f"DELETE FROM {table}")
        started = time.perf_counter()
        library.fill(database, args.regions, np.random.default_rng(0))
        print(f"wrote {args.regions} regions in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        database.dispose()
        server, base = serve(data_dir, url)
        try:
            rows = measure(base, args.regions, args.requests)
        finally:
            server.terminate()
            server.wait(timeout=60)
    backend = url.split(":", 1)[0].split("+")[0]
    print_table(f"Search latency, {args.regions} regions, {backend}, {args.requests} requests each", rows)


if __name__ == "__main__":
    main()
