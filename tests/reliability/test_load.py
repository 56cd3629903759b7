"""What the load benchmark (bench/load.py) found, kept as tests: a long-running server
forgets the live events of old jobs, a full job queue refuses more work, and the
benchmark itself runs clean."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api import jobs as job_module
from api.app import create_app
from bench import library
from core.engine import AudioSamplerEngine
from database.session import Database
from plugins.features import Features
from tests import audio_factory as af
from tests.conftest import make_settings
from tests.reliability.test_faults import wait_until
from tests.test_cli import ROOT


def test_the_live_events_of_old_finished_jobs_are_forgotten(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(job_module, "KEEP_FINISHED", 3)
    settings = make_settings(tmp_path / "data")
    missing = [str(tmp_path / f"gone{i}.wav") for i in range(6)]  # each job ends at once: not_found
    with TestClient(create_app(settings, AudioSamplerEngine(settings, plugins=[Features]))) as client:
        ids = [client.post("/api/jobs", json={"paths": [path]}).json()["job_id"] for path in missing]
        wait_until(lambda: all(client.get(f"/api/jobs/{i}").json()["state"] == "done" for i in ids), 60, "the jobs")
        manager = client.app.state.jobs
        assert sorted(manager._live) == sorted(ids[-3:])  # the latest three
        first = client.get(f"/api/jobs/{ids[0]}").json()  # still read from the database
        assert (first["state"], first["finished_files"], first["files"][0]["error_code"]) == ("done", 1, "not_found")
        with client.stream("GET", f"/api/jobs/{ids[0]}/events", timeout=30) as stream:
            events = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
        assert events == [{"type": "end", "state": "done"}]
        assert manager.active() == 0
        client.app.state.engine.close()


def test_a_full_job_queue_refuses_new_work_with_429_before_writing_anything(tmp_path: Path) -> None:
    """Clients that upload faster than the workers analyse would grow the queue (memory)
    and the upload folder (disk) without end: past ``max_queued_jobs`` they are told to
    come back later."""
    settings = make_settings(tmp_path / "data", max_queued_jobs=2)
    song = af.write(tmp_path / "song.wav", af.with_gaps([(0.1, 0.6)], 0.8))
    with TestClient(create_app(settings, AudioSamplerEngine(settings, plugins=[Features]))) as client:
        gate = threading.Event()
        client.app.state.jobs._executor.submit(gate.wait)  # the job thread is busy: new jobs wait
        try:
            ids = [client.post("/api/jobs", json={"paths": [str(song)]}).json()["job_id"] for _ in range(2)]
            refused = client.post("/api/jobs", json={"paths": [str(song)]})
            assert refused.status_code == 429 and refused.headers["Retry-After"] == "30"
            assert refused.json()["error"].startswith("2 analysis jobs are waiting or running (at most 2)")
            upload = client.post("/api/analyze/upload", files=[("files", ("song.wav", song.read_bytes()))])
            assert upload.status_code == 429 and not list(settings.upload_dir.rglob("*"))
            assert len(client.get("/api/jobs").json()) == 2
        finally:
            gate.set()
        wait_until(lambda: all(client.get(f"/api/jobs/{i}").json()["state"] == "done" for i in ids), 120, "jobs")
        assert client.post("/api/analyze/upload", files=[("files", ("song.wav", song.read_bytes()))]).status_code == 202
        client.app.state.engine.close()


@pytest.mark.slow
def test_the_load_benchmark_runs_without_5xx_or_a_health_stall(tmp_path: Path) -> None:
    """A short run of bench/load.py (it exits 1 on any 5xx, a /health stall or a traceback)."""
    done = subprocess.run([sys.executable, "bench/load.py", "--seconds", "10", "--warmup", "5", "--clients", "20",
                           "--library", "2000"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 tracebacks" in done.stdout
    table = done.stdout.split("(client-side latency)")[1]
    all_clients = next(line for line in table.splitlines() if line.startswith("all clients")).split()
    assert int(all_clients[2]) > 0 and all_clients[-3:] == ["0", "0", "0"]  # answered; 4xx, 5xx, no answer


def test_a_region_without_stored_peaks_is_shown_not_a_500(tmp_path: Path) -> None:
    """The load benchmark's generated library (regions written straight into the tables,
    without peaks, as the model allows) made GET /api/regions/{id} answer 500."""
    settings = make_settings(tmp_path / "data")
    database = Database(settings.effective_database_url)
    database.migrate()
    library.fill(database, 3, np.random.default_rng(0))
    database.dispose()
    with TestClient(create_app(settings, AudioSamplerEngine(settings, plugins=[Features]))) as client:
        region = client.get("/api/regions/2")
        assert region.status_code == 200 and region.json()["peaks"] is None
        client.app.state.engine.close()
