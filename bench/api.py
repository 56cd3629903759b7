"""Latency of the search endpoints on a large library, through a real server process.

    .venv/bin/python bench/api.py                    # 100 000 regions, SQLite
    .venv/bin/python bench/api.py --regions 1000000 --no-peaks  # a million
    .venv/bin/python bench/api.py --postgres         # on a PostgreSQL server of its own
    DATABASE_URL=postgresql+psycopg://… .venv/bin/python bench/api.py   # another database (emptied first)
    DATABASE_URL=… .venv/bin/python bench/api.py --regions 1000000 --reuse  # its library again, not rewritten

A library of generated regions (bench/library.py: bpm, key, loudness, content, three
model tags each, and a region's own peaks as the engine stores them) is written straight
into the database; ``main.py serve`` runs in its own process on it; each search below is
sent ``--requests`` times with parameters drawn anew each time, one at a time, over one
keep-alive connection, and its latency (client side, whole HTTP round trip) printed as
p50 / p95 with the median number of matches. PostgreSQL's statistics are gathered after
the library is written and its visibility map set (:func:`vacuum`, as its autovacuum would); SQLite needs none.
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
from bench.server import start as start_server  # noqa: E402
from bench.tables import print_table  # noqa: E402
from database.session import Database  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402


def _window(rng: np.random.Generator, width: float) -> dict:
    low = float(rng.uniform(60, 180 - width))
    return {"bpm_min": round(low, 1), "bpm_max": round(low + width, 1)}


def _combo(rng: np.random.Generator) -> dict:
    return {**_window(rng, 50), "key": rng.choice(library.KEYS), "content": rng.choice(library.CONTENT),
            "tag": rng.choice(library.TAGS)}


#: Each search: (path, its parameters drawn anew for every request from a generator and the
#: number of files, so that no answer is the same twice running).
SEARCHES = {
    "regions, first page": ("/api/regions", lambda rng, files: {}),
    "bpm, 10 wide": ("/api/regions", lambda rng, files: _window(rng, 10)),
    "key + compatible": ("/api/regions", lambda rng, files: {
        "key": f"{rng.integers(1, 13)}{rng.choice(['A', 'B'])}", "compatible": "true"}),
    "content, by loudness": ("/api/regions", lambda rng, files: {
        "content": rng.choice(library.CONTENT), "sort": "loudness", "order": "desc"}),
    "tag ≥ p": ("/api/regions", lambda rng, files: {
        "tag": rng.choice(library.TAGS), "tag_min": round(float(rng.uniform(0.2, 0.8)), 2)}),
    "bpm + key + content + tag": ("/api/regions", lambda rng, files: _combo(rng)),
    "sorted by bpm, deep page": ("/api/regions", lambda rng, files: {
        "sort": "bpm", "offset": int(rng.integers(0, 5_000))}),
    "name contains": ("/api/regions", lambda rng, files: {"query": f"take_{rng.integers(0, files):06d}"}),
    "files, bpm 10 wide": ("/database/files", lambda rng, files: _window(rng, 10)),
    "region detail": ("/api/regions/{id}", lambda rng, files: {}),
    # What a user types (after the others, which draw their parameters as before): a tag as
    # text (~30 % of regions carry each), a text in every file name, the newest or oldest
    # analysed, and a text in facet order.
    "text: a tag": ("/api/regions", lambda rng, files: {"query": rng.choice(library.TAGS)}),
    "text in every name": ("/api/regions", lambda rng, files: {
        "query": rng.choice(["take", "TAKE_", ".wav", "ake"]), "order": rng.choice(["asc", "desc"])}),
    "sorted by date": ("/api/regions", lambda rng, files: {
        "sort": "analyzed", "order": rng.choice(["asc", "desc"]), "offset": 50 * int(rng.integers(0, 20))}),
    "content, by date": ("/api/regions", lambda rng, files: {
        "content": rng.choice(library.CONTENT), "sort": "analyzed", "order": rng.choice(["asc", "desc"])}),
    "text: a tag, by bpm": ("/api/regions", lambda rng, files: {
        "query": rng.choice(library.TAGS), "sort": "bpm", "order": rng.choice(["asc", "desc"])}),
    "tag + bpm 10 wide": ("/api/regions", lambda rng, files: {"tag": rng.choice(library.TAGS), **_window(rng, 10)}),
    "text: a tag + bpm 10 wide": ("/api/regions", lambda rng, files: {
        "query": rng.choice(library.TAGS), **_window(rng, 10)}),
}


def serve(data_dir: Path, database_url: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "AUDIO_SAMPLER_DATA_DIR": str(data_dir), "DATABASE_URL": database_url,
           "AUDIO_SAMPLER_PLUGINS": '["features"]', "AUDIO_SAMPLER_WORKERS": "1"}
    return start_server(env)


def measure(url: str, regions: int, requests: int) -> list[dict]:
    rng = np.random.default_rng(1)
    rows = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for name, (path, draw) in SEARCHES.items():
            times, matches = [], []
            for _ in range(requests):
                target = path.format(id=int(rng.integers(1, regions + 1)))
                params = draw(rng, -(-regions // library.PER_FILE))
                started = time.perf_counter()
                response = client.get(target, params=params)
                times.append(1000 * (time.perf_counter() - started))
                response.raise_for_status()
                matches.append(response.json().get("total", 1))
            rows.append({"search": name, "median matches": int(statistics.median(matches)),
                         "p50 ms": statistics.median(times), "p95 ms": float(np.percentile(times, 95))})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="per search")
    parser.add_argument("--postgres", action="store_true", help="start a PostgreSQL server of its own")
    parser.add_argument("--no-peaks", action="store_true",
                        help="leave regions' own peaks out (searches never read them; 8 GB fewer at 1 M regions)")
    parser.add_argument("--reuse", action="store_true", help="time the library already in DATABASE_URL (written "
                        "by an earlier run with the same --regions) instead of writing it again")
    args = parser.parse_args()
    if args.reuse and (args.postgres or not os.environ.get("DATABASE_URL")):
        parser.error("--reuse times the library in DATABASE_URL")
    postgres = PostgresServer().start() if args.postgres else None
    try:
        with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp:
            data_dir = Path(tmp)
            url = (postgres.url(postgres.create_database()) if postgres else
                   os.environ.get("DATABASE_URL", "") or f"sqlite:///{data_dir / 'audio.db'}")
            if not args.reuse:
                write(url, args.regions, peaks=not args.no_peaks)
            rows = run(data_dir, url, args.regions, args.requests)
    finally:
        if postgres is not None:
            postgres.stop()
    backend = url.split(":", 1)[0].split("+")[0]
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print_table(f"Search latency, {args.regions} regions, {backend}, {args.requests} requests each "
                f"(load average {load})", rows)


def write(url: str, regions: int, peaks: bool) -> None:
    """Write the library into the (emptied) database at ``url``."""
    database = Database(url)
    database.migrate()
    with database.engine.begin() as connection:
        for table in ("tags", "region_peaks", "regions", "files"):
            connection.exec_driver_sql(f"DELETE FROM {table}")
    started = time.perf_counter()
    library.fill(database, regions, np.random.default_rng(0), peaks=peaks)
    if database.engine.dialect.name == "postgresql":
        vacuum(database)
    print(f"wrote {regions} regions in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    database.dispose()


def run(data_dir: Path, url: str, regions: int, requests: int) -> list[dict]:
    """Serve the library at ``url``, time the searches."""
    process, base = serve(data_dir, url)
    try:
        return measure(base, regions, requests)
    finally:
        process.terminate()
        process.wait(timeout=60)


def vacuum(database: Database) -> None:
    """ANALYZE and VACUUM, as autovacuum would after a large write: statistics for the planner, and
    the visibility map that index-only scans need. VACUUM marks a page all-visible only once the
    commits that wrote its rows are flushed (a server that commits asynchronously, as tests/postgres.py's,
    flushes them a moment later; ANALYZE's own commits count too), so it waits for that first."""
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")
        written = connection.exec_driver_sql("SELECT pg_current_wal_insert_lsn()").scalar()
        while not connection.exec_driver_sql("SELECT pg_current_wal_flush_lsn() >= %(lsn)s::pg_lsn",
                                             {"lsn": written}).scalar():
            time.sleep(0.05)
        connection.exec_driver_sql("VACUUM")

if __name__ == "__main__":
    main()
