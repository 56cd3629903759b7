"""What the load benchmark (bench/load.py) found, kept as tests: a long-running server
forgets the live events of old jobs, and the benchmark itself runs clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import jobs as job_module
from api.app import create_app
from core.engine import AudioSamplerEngine
from plugins.features import Features
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


@pytest.mark.slow
def test_the_load_benchmark_runs_without_5xx_or_a_health_stall(tmp_path: Path) -> None:
    """A short run of bench/load.py (it exits 1 on any 5xx, a /health stall or a traceback)."""
    done = subprocess.run([sys.executable, "bench/load.py", "--seconds", "20", "--warmup", "5", "--clients", "20",
                           "--library", "2000"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 tracebacks" in done.stdout
    table = done.stdout.split("(client-side latency)")[1]
    all_clients = next(line for line in table.splitlines() if line.startswith("all clients")).split()
    assert int(all_clients[2]) > 0 and all_clients[-3:] == ["0", "0", "0"]  # answered; 4xx, 5xx, no answer
