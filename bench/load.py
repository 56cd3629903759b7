"""Load: concurrent clients uploading generated audio and searching a live server.

    .venv/bin/python bench/load.py                  # 20 clients for 60 s
    .venv/bin/python bench/load.py --seconds 300 --clients 40

``main.py serve`` runs in a process of its own on a free loopback port with a temporary
data folder, holding a generated library (bench/library.py) so that searches have
something to find. Each client (httpx, asyncio) loops for ``--seconds``: it uploads a
short generated WAV (a new content hash every time, so each one is really analysed),
searches regions and files with random filters, opens a region, and follows its latest
job. Beside them a probe asks ``/health`` every 0.25 s and measures how long it waits.

Printed: per kind of request, how many were answered, the throughput, p50/p95/max
latency (client side, whole HTTP round trip) and errors by class (``429 busy``: the
server's job queue, ``--max-queued``, was full, as it must be when uploads outpace the
workers for long enough); the ``/health`` probe's latency; the server's memory
(resident set of the process, and of its whole tree: the forkserver and workers too)
at the start, each quarter and the end of the run; and how much of the uploaded audio
was analysed by the end. The script exits 1 when any request
got a 5xx or the probe went unanswered for more than ``--health-stall`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import psutil
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import library  # noqa: E402
from bench.server import start as start_server  # noqa: E402
from bench.tables import print_table  # noqa: E402
from database.session import Database  # noqa: E402
from tests import audio_factory as af  # noqa: E402

#: What a client does next, and how often (weights).
ACTIONS = {"upload": 2, "search regions": 5, "search files": 2, "region detail": 2, "job status": 1}
KEYS = ("A minor", "C major", "8A", "F# minor", "5B")
CONTENT = ("music", "speech", "noise", "mixed")
TAGS = ("kick", "snare", "piano", "bass", "pad")
HEALTH_EVERY_S = 0.25
KEEPALIVE_S = 3.0
_MB = 1 << 20


@dataclass
class Tally:
    """Latencies (ms) of answered requests and error counts, per kind of request."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, started: float, response: httpx.Response | None, problem: str | None = None) -> None:
        if response is not None:
            self.times[kind].append(1000 * (time.perf_counter() - started))
            if response.status_code >= 400:
                cls = "429" if response.status_code == 429 else f"{response.status_code // 100}xx"
                self.errors[kind][cls] += 1
                self.examples.setdefault(f"{kind} {response.status_code}", response.text[:300])
        else:
            self.errors[kind]["no answer"] += 1
            self.examples.setdefault(f"{kind} no answer", problem or "")


def clips(count: int, seed: int) -> list[bytes]:
    """``count`` short WAV files of 1–4 s: music-like loops and tones between silences."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        seconds = float(rng.uniform(1.0, 4.0))
        if i % 2:
            audio = af.music(seconds, sr=22_050, bpm=float(rng.uniform(80, 160)), seed=i)
        else:
            audio = af.with_gaps([(0.1, 0.1 + seconds / 3), (seconds / 2, seconds - 0.1)], seconds, sr=22_050)
        buffer = io.BytesIO()
        sf.write(buffer, audio, 22_050, format="WAV", subtype="PCM_16")
        out.append(buffer.getvalue())
    return out


def unique(clip: bytes, n: int) -> bytes:
    """``clip`` with its last sample replaced by ``n``: a new file (content hash) each time."""
    return clip[:-2] + (n % 32_768).to_bytes(2, "little")


def tree_rss(pid: int) -> tuple[float, float, int]:
    """Resident MB of the process and of its whole tree, and the number of processes."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0, 0.0, 0
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    try:
        own = root.memory_info().rss
    except psutil.Error:
        own = 0
    return own / _MB, total / _MB, len(processes)


class Load:
    def __init__(self, base: str, seconds: float, clients: int, region_ids: int, server_pid: int, seed: int):
        self.base = base
        self.seconds = seconds
        self.clients = clients
        self.region_ids = region_ids
        self.server_pid = server_pid
        self.rng = random.Random(seed)
        self.tally = Tally()
        self.health: list[float] = []
        self.health_failures = 0
        self.longest_health_gap_s = 0.0
        self.memory: list[dict] = []
        self.jobs: list[str] = []
        self.uploaded = 0
        self.pool = clips(60, seed)
        self.deadline = 0.0

    async def run(self, warmup_s: float) -> float:
        """Warm up (workers started, caches filled; not counted), then the measured run;
        returns its length in seconds."""
        # idle connections are closed before uvicorn's 5 s keep-alive ends them: otherwise a request
        # sent on one just as the server closes it gets no answer (a client-side race, not a failure)
        limits = httpx.Limits(max_connections=self.clients + 2, max_keepalive_connections=self.clients + 2,
                              keepalive_expiry=KEEPALIVE_S)
        async with httpx.AsyncClient(base_url=self.base, timeout=60, limits=limits) as client:
            warm_until = time.monotonic() + 300
            while True:  # until the workers have analysed an upload (they start with the first job)
                self.deadline = time.monotonic() + warmup_s
                await asyncio.gather(*(self.client(client, i) for i in range(self.clients)))
                first = self.jobs and (await client.get(f"/api/jobs/{self.jobs[0]}")).json()
                if (first and first["state"] == "done") or time.monotonic() > warm_until:
                    break
            self.tally = Tally()
            started = time.monotonic()
            self.deadline = started + self.seconds
            self.sample_memory("start", 0.0)
            tasks = [asyncio.create_task(self.client(client, i)) for i in range(self.clients)]
            tasks.append(asyncio.create_task(self.probe()))
            for moment in ("1/4", "middle", "3/4"):
                await asyncio.sleep(started + self.seconds * len(self.memory) / 4 - time.monotonic())
                self.sample_memory(moment, time.monotonic() - started)
            await asyncio.gather(*tasks)
            self.sample_memory("end", time.monotonic() - started)
            return time.monotonic() - started

    def sample_memory(self, moment: str, at_s: float) -> None:
        own, total, count = tree_rss(self.server_pid)
        self.memory.append({"moment": moment, "at s": at_s, "server RSS MB": own, "tree RSS MB": total,
                            "processes": count})

    async def client(self, client: httpx.AsyncClient, number: int) -> None:
        kinds, weights = zip(*ACTIONS.items(), strict=True)
        rng = random.Random(number)
        while time.monotonic() < self.deadline:
            kind = rng.choices(kinds, weights)[0]
            started = time.perf_counter()
            try:
                response = await self.request(client, kind, rng)
            except httpx.HTTPError as exc:
                self.tally.add(kind, started, None, f"{type(exc).__name__}: {exc}")
                continue
            if response is not None:
                self.tally.add(kind, started, response)

    async def request(self, client: httpx.AsyncClient, kind: str, rng: random.Random) -> httpx.Response | None:
        if kind == "upload":
            self.uploaded += 1
            body = unique(self.pool[self.uploaded % len(self.pool)], self.uploaded)
            response = await client.post("/api/analyze/upload",
                                         files=[("files", (f"load take {self.uploaded}.wav", body, "audio/wav"))])
            if response.status_code == 202:
                self.jobs.append(response.json()["job_id"])
            return response
        if kind == "search regions":
            params: dict = {"limit": 50, "offset": rng.choice((0, 0, 50, 500))}
            for name, value in (("bpm_min", rng.uniform(60, 120)), ("key", rng.choice(KEYS)),
                                ("content", rng.choice(CONTENT)), ("tag", rng.choice(TAGS)),
                                ("sort", rng.choice(("bpm", "loudness", "name"))), ("query", "take")):
                if rng.random() < 0.35:
                    params[name] = value
            if "bpm_min" in params:
                params["bpm_max"] = params["bpm_min"] + 20
            return await client.get("/api/regions", params=params)
        if kind == "search files":
            params = {"limit": 50, "query": rng.choice(("take", "load", "0001"))}
            if rng.random() < 0.5:
                params |= {"bpm_min": 90, "bpm_max": 140}
            return await client.get("/database/files", params=params)
        if kind == "region detail":
            return await client.get(f"/api/regions/{rng.randint(1, self.region_ids)}")
        if not self.jobs:
            return None
        return await client.get(f"/api/jobs/{rng.choice(self.jobs[-20:])}")

    async def probe(self) -> None:
        """``/health`` every HEALTH_EVERY_S on a connection of its own."""
        last_answer = time.monotonic()
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as client:
            while time.monotonic() < self.deadline:
                started = time.perf_counter()
                try:
                    response = await client.get("/health")
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                now = time.monotonic()
                if ok:
                    self.health.append(1000 * (time.perf_counter() - started))
                    self.longest_health_gap_s = max(self.longest_health_gap_s, now - last_answer)
                    last_answer = now
                else:
                    self.health_failures += 1
                await asyncio.sleep(HEALTH_EVERY_S)
            self.longest_health_gap_s = max(self.longest_health_gap_s, time.monotonic() - last_answer)


def serve(data_dir: Path, plugins: list[str], workers: int, max_queued: int) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "AUDIO_SAMPLER_DATA_DIR": str(data_dir), "AUDIO_SAMPLER_PLUGINS": json.dumps(plugins),
           "AUDIO_SAMPLER_WORKERS": str(workers), "AUDIO_SAMPLER_LIBRARY_ROOTS": json.dumps([str(data_dir)]),
           "AUDIO_SAMPLER_MAX_QUEUED_JOBS": str(max_queued)}
    env.pop("DATABASE_URL", None)
    return start_server(env, data_dir / "server.log")


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def report(load: Load, seconds: float, analysed: dict, stop: dict) -> bool:
    rows = []
    for kind in ACTIONS:
        times = load.tally.times.get(kind, [])
        errors = load.tally.errors.get(kind, {})
        rows.append({"request": kind, "answered": len(times), "per s": len(times) / seconds,
                     "p50 ms": statistics.median(times) if times else None, "p95 ms": percentile(times, 95),
                     "max ms": max(times) if times else None, "429 busy": errors.get("429", 0),
                     "4xx": errors.get("4xx", 0),
                     "5xx": errors.get("5xx", 0), "no answer": errors.get("no answer", 0)})
    answered = sum(r["answered"] for r in rows)
    rows.append({"request": "all clients", "answered": answered, "per s": answered / seconds,
                 "p50 ms": None, "p95 ms": None, "max ms": None, "429 busy": sum(r["429 busy"] for r in rows),
                 "4xx": sum(r["4xx"] for r in rows),
                 "5xx": sum(r["5xx"] for r in rows), "no answer": sum(r["no answer"] for r in rows)})
    rows.append({"request": "/health probe", "answered": len(load.health), "per s": len(load.health) / seconds,
                 "p50 ms": statistics.median(load.health) if load.health else None,
                 "p95 ms": percentile(load.health, 95), "max ms": max(load.health) if load.health else None,
                 "429 busy": 0, "4xx": 0, "5xx": 0, "no answer": load.health_failures})
    print_table(f"Load: {load.clients} clients for {seconds:.0f} s (client-side latency)", rows)
    print_table("Server memory (resident, MB)", load.memory)
    print_table("Analysis", [{"uploads accepted (warm-up too)": analysed["jobs"],
                              "files analysed by the end": analysed["ok"],
                              "file errors": analysed["error"], "jobs still queued or running": analysed["active"],
                              "longest /health gap s": load.longest_health_gap_s,
                              "SIGTERM to exit s": stop["seconds"], "exit": stop["code"]}])
    for what, text in load.tally.examples.items():
        print(f"  e.g. {what}: {text}")
    return rows[-2]["5xx"] == 0 and load.health_failures == 0


async def outcome(base: str, jobs: list[str], generated_files: int) -> dict:
    """How many of the uploads were analysed, and how many of their jobs are still waiting."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        states = [(await client.get(f"/api/jobs/{job}")).json()["state"] for job in jobs]
        by_status = (await client.get("/database/stats")).json()["files_by_status"]
    return {"jobs": len(jobs), "ok": by_status.get("ok", 0) - generated_files, "error": by_status.get("error", 0),
            "active": sum(1 for state in states if state in ("queued", "running"))}


def stop_server(server: subprocess.Popen) -> dict:
    started = time.monotonic()
    server.send_signal(signal.SIGTERM)
    try:
        code = server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        code = server.wait()
    # uvicorn ends by raising the signal it stopped on again: -15 is a clean stop
    return {"seconds": time.monotonic() - started, "code": "clean" if code in (0, -signal.SIGTERM) else code}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the clients run (default 60)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--warmup", type=float, default=10.0,
                        help="seconds of load before the measured run (again until an upload was analysed)")
    parser.add_argument("--library", type=int, default=10_000, help="generated regions in the database at the start")
    parser.add_argument("--plugins", default="features", help="the server's plugin chain (comma-separated)")
    parser.add_argument("--workers", type=int, default=2, help="the server's worker processes")
    parser.add_argument("--max-queued", type=int, default=1000,
                        help="the server's AUDIO_SAMPLER_MAX_QUEUED_JOBS (uploads past it get 429)")
    parser.add_argument("--health-stall", type=float, default=2.0,
                        help="longest acceptable time without a /health answer, seconds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="load-bench-") as tmp:
        data_dir = Path(tmp)
        database = Database(f"sqlite:///{data_dir / 'audio.db'}")
        database.migrate()
        library.fill(database, args.library, np.random.default_rng(args.seed), peaks=True)
        database.dispose()
        server, base = serve(data_dir, args.plugins.split(","), args.workers, args.max_queued)
        try:
            load = Load(base, args.seconds, args.clients, args.library, server.pid, args.seed)
            elapsed = asyncio.run(load.run(args.warmup))
            analysed = asyncio.run(outcome(base, load.jobs, -(-args.library // library.PER_FILE)))
        finally:
            stop = stop_server(server)
        healthy = report(load, elapsed, analysed, stop) and load.longest_health_gap_s <= args.health_stall
        traces = (data_dir / "server.log").read_text(errors="replace").count("Traceback")
        print(f"\nserver log: {traces} tracebacks; machine: {os.cpu_count()} cores, load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end")
    sys.exit(0 if healthy and traces == 0 else 1)


if __name__ == "__main__":
    main()
