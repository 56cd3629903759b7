"""Fault injection: full disks, a read-only database, processes killed from outside.

After each fault the database passes ``PRAGMA integrity_check``, every file is stored
whole or not at all, the error is visible in ``/status``, and the work succeeds once the
fault is gone. (Faults already covered elsewhere: plugins that crash, hang or eat memory
in tests/core/test_engine.py and test_sandbox.py; a scan killed with SIGKILL in
tests/test_cli.py; the Essentia child killed during a call in tests/core/test_bridge.py.)
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import httpx
import psutil
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.config import Settings, get_settings
from core.engine import AudioSamplerEngine
from plugins.features import Features
from plugins.key_finder import KeyFinder
from tests import audio_factory as af
from tests import fault_plugins as bad
from tests.conftest import make_settings
from tests.live_server import free_port
from tests.reliability.disks import fill, read_only, small_disk
from tests.test_cli import ROOT, _wait_for_session_to_end, cli_env, make_library, stored


def database_of(settings: Settings) -> dict[str, tuple[str, int, int]]:
    """path → (status, regions, analyses) of every file in the SQLite database, after
    checking its integrity."""
    db = settings.data_dir / "audio.db"
    with closing(sqlite3.connect(db)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return stored(db)


def assert_whole(settings: Settings, plugins: int = 1) -> None:
    """Every stored file is whole: ok with each of its regions analysed by each of the
    ``plugins``, or an error without regions."""
    for path, (status, regions, analyses) in database_of(settings).items():
        assert (status == "ok" and analyses == regions * plugins >= 1) or (status == "error" and regions == 0), path


@pytest.mark.slow
def test_decoding_onto_a_full_disk_is_reported_not_stored_and_done_once_there_is_room(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    settings.ensure_dirs()
    song = af.write(tmp_path / "song.wav", af.with_gaps([(0.5, 8.0)], 10.0))  # 880 kB decoded
    with AudioSamplerEngine(settings, plugins=[Features]) as engine:
        with small_disk(settings.tmp_dir, 256):
            report = engine.analyze_file(song)
            assert not list(settings.tmp_dir.iterdir())  # the partial decode is gone
        assert (report["status"], report["error_code"], report["id"]) == ("error", "storage_error", None)
        assert "No space left on device" in report["error"] and str(settings.tmp_dir) in report["error"]
        assert database_of(settings) == {}  # not recorded as a broken file...
        assert engine.status()["unrecorded_errors"][-1]["path"] == str(song)
        assert engine.analyze_file(song)["status"] == "ok"  # ...so it is analysed once there is room
    assert_whole(settings)


def test_a_database_write_on_a_full_disk_stores_nothing_and_is_in_status(full_database_disk, tmp_path: Path) -> None:
    settings = full_database_disk
    files = [af.write(tmp_path / f"take{i}.wav", af.with_gaps([(0.2, 1.0), (1.5, 2.5)], 3.0 + i)) for i in range(3)]
    with TestClient(create_app(settings, AudioSamplerEngine(settings, plugins=[Features]))) as client:
        assert client.post("/analyze", json={"file_path": str(files[0])}).json()["status"] == "ok"
        filler = fill(settings.data_dir)
        refused = client.post("/analyze", json={"file_path": str(files[1])}).json()
        assert (refused["status"], refused["error_code"], refused["id"]) == ("error", "storage_error", None)
        assert refused["error"] == "database error: database or disk is full"
        status = client.get("/status").json()
        assert status["unrecorded_errors"][-1] == {**status["unrecorded_errors"][-1], "path": str(files[1]),
                                                   "error_code": "storage_error", "error": refused["error"]}
        assert client.get("/health").json() == {"status": "ok"}
        assert sorted(database_of(settings)) == [str(files[0])]
        filler.unlink()
        assert [client.post("/analyze", json={"file_path": str(f)}).json()["status"] for f in files] == ["ok"] * 3
        client.app.state.engine.close()
    assert sorted(database_of(settings)) == sorted(map(str, files))
    assert_whole(settings)


def test_an_upload_onto_a_full_disk_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", plugins=["features"])
    song = af.write(tmp_path / "song.wav", af.music(20.0))  # 1.8 MB
    with small_disk(settings.data_dir, 1024), TestClient(create_app(settings)) as client:
        upload = [("files", ("song.wav", song.read_bytes(), "audio/wav"))]
        refused = client.post("/api/analyze/upload", files=upload)  # the disk fills while it is written
        assert refused.json() == {"error": "the server could not store song.wav: No space left on device"}
        assert refused.status_code == 507
        assert not [p for p in settings.upload_dir.rglob("*")]  # no partial file, no empty folder
        assert client.get("/status").json()["unrecorded_errors"][-1]["path"] == "song.wav"
        assert client.get("/health").json() == {"status": "ok"}
        small = [("files", ("short.wav", af.write(tmp_path / "short.wav", af.tone(440, 0.5)).read_bytes()))]
        assert client.post("/api/analyze/upload", files=small).status_code == 202


def test_a_read_only_database_is_a_clear_error_and_nothing_partial(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    first, second = (af.write(tmp_path / f"{name}.wav", af.with_gaps([(0.2, 1.0)], 1.5 + i))
                     for i, name in enumerate(("first", "second")))
    with AudioSamplerEngine(settings, plugins=[Features]) as engine:
        assert engine.analyze_file(first)["status"] == "ok"
    with read_only(settings.data_dir / "audio.db"), AudioSamplerEngine(settings, plugins=[Features]) as engine:
        assert engine.analyze_file(first)["status"] == "ok"  # reading still works
        report = engine.analyze_file(second)
        assert (report["error_code"], report["error"]) == ("storage_error",
                                                           "database error: attempt to write a readonly database")
        assert engine.status()["unrecorded_errors"][-1]["path"] == str(second)
    assert sorted(database_of(settings)) == [str(first)]
    assert_whole(settings)


def wait_until(condition: Callable[[], object], timeout_s: float, what: str) -> object:
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def test_a_plugin_worker_killed_mid_region_is_crashed_and_the_rest_is_stored(tmp_path: Path) -> None:
    song = af.write(tmp_path / "song.wav", af.with_gaps([(0.2, 1.0)], 1.5))
    pid_file = Path(f"{song}.pid")
    settings = make_settings(tmp_path / "data")
    with AudioSamplerEngine(settings, plugins=[Features, bad.Sleeper]) as engine:
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(engine.analyze_file, song)
            pid = int(wait_until(lambda: pid_file.exists() and pid_file.read_text(), 60, "the plugin to start"))
            os.kill(pid, signal.SIGKILL)
            report = running.result(timeout=60)
        analysis = report["regions"][0]["analysis"]
        assert analysis["sleeper"]["status"] == "crashed" and "SIGKILL" in analysis["sleeper"]["error"]
        assert analysis["features"]["status"] == "ok" and report["status"] == "ok"
        assert engine.status()["sandbox"]["failures"] == {"crashed": 1}
        after = af.write(tmp_path / "after.wav", af.tone(330, 0.5))
        assert engine.analyze_file(after, plugins=["features"])["status"] == "ok"  # a fresh worker took over
    assert database_of(settings)[str(song)] == ("ok", 1, 2)


def essentia_children(settings: Settings) -> list[psutil.Process]:
    """The experimental environment's worker processes started under this test process."""
    script = str(settings.experimental_worker)
    return [p for p in psutil.Process().children(recursive=True) if script in " ".join(_cmdline(p))]


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


@pytest.mark.slow
@pytest.mark.skipif(not get_settings().experimental_python.exists(), reason="the experimental environment is "
                    "built by `make test`")
def test_the_essentia_child_killed_at_any_moment_still_gives_a_key(tmp_path: Path) -> None:
    """Killed as soon as it appears (while it starts or answers), then again between calls:
    the key comes from Essentia's restarted child or the librosa fallback, never an error."""
    settings = make_settings(tmp_path / "data", workers=1)
    cadences = [af.write(tmp_path / f"cadence{i}.wav", af.progression(7, "major", 6.0 + i)) for i in range(3)]
    with AudioSamplerEngine(settings, plugins=[KeyFinder]) as engine, ThreadPoolExecutor(1) as pool:
        running = pool.submit(engine.analyze_file, cadences[0])
        killed = wait_until(lambda: essentia_children(settings) or running.done(), 120, "the Essentia child")
        for child in killed if isinstance(killed, list) else []:
            child.kill()
        keys = [running.result(timeout=120), engine.analyze_file(cadences[1])]
        between = essentia_children(settings)  # none if the first kill came while it started: not retried at once
        for child in between:
            child.kill()
        keys.append(engine.analyze_file(cadences[2]))
        assert killed is not True or between, "no Essentia child was seen"
    for report in keys:
        key = report["regions"][0]["analysis"]["key_finder"]
        assert (key["status"], key["key"]) == ("ok", "G major"), key
        assert key["method"] == "essentia" or key["fallback_reason"]
    assert_whole(settings)


def serve_process(port: int, env: dict[str, str], log: Path | None = None) -> subprocess.Popen:
    """``main.py serve`` on ``port``, once it answers; its output goes to ``log`` (if given)."""
    with open(log or os.devnull, "ab") as output:
        server = subprocess.Popen([sys.executable, "main.py", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                  stdout=output, stderr=output, start_new_session=True)
    wait_until(lambda: _answers(f"http://127.0.0.1:{port}/health") or server.poll() is not None, 60, "the server")
    assert server.poll() is None, "the server did not start"
    return server


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.slow
def test_a_server_killed_during_a_job_comes_back_with_the_job_interrupted_and_resumable(tmp_path: Path) -> None:
    library = make_library(tmp_path / "library", 16)
    data = tmp_path / "data"
    env = {**cli_env(data), "AUDIO_SAMPLER_LIBRARY_ROOTS": json.dumps([str(tmp_path)])}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve_process(port, env)
    try:
        job_id = httpx.post(f"{base}/api/jobs", json={"paths": [str(tmp_path / "library")]}).json()["job_id"]
        wait_until(lambda: httpx.get(f"{base}/api/jobs/{job_id}").json()["finished_files"] >= 3, 240, "3 files")
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    _wait_for_session_to_end(server.pid)
    settings = make_settings(data)
    before = database_of(settings)
    assert 3 <= len(before) < len(library)
    assert_whole(settings)

    server = serve_process(port, env)
    try:
        job = httpx.get(f"{base}/api/jobs/{job_id}").json()
        assert job["state"] == "interrupted" and 3 <= job["finished_files"] < len(library)
        assert httpx.post(f"{base}/api/jobs/{job_id}/resume").status_code == 200
        job = wait_until(lambda: (j := httpx.get(f"{base}/api/jobs/{job_id}").json())["state"] == "done" and j,
                         240, "the resumed job")
        assert job["finished_files"] == len(library) and all(f["status"] == "ok" for f in job["files"])
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    assert sorted(database_of(settings)) == sorted(map(str, library))
    assert_whole(settings)
    assert not list((data / "tmp").iterdir())


def test_a_job_whose_database_fills_up_ends_and_says_so(full_database_disk: Settings, tmp_path: Path) -> None:
    """The disk fills while a job's file is analysed: neither the file nor the job's own
    record can be written, yet the job ends (its event stream too) and is resumable."""
    settings = full_database_disk
    song = af.write(tmp_path / "song.wav", af.with_gaps([(0.2, 1.0)], 1.5))
    engine = AudioSamplerEngine(settings, plugins=[Features, bad.Sleeper])
    with TestClient(create_app(settings, engine)) as client:
        job_id = client.post("/api/jobs", json={"paths": [str(song)]}).json()["job_id"]
        pid = int(wait_until(lambda: Path(f"{song}.pid").exists() and Path(f"{song}.pid").read_text(), 60, "sleeper"))
        filler = fill(settings.data_dir)
        os.kill(pid, signal.SIGKILL)
        with client.stream("GET", f"/api/jobs/{job_id}/events", timeout=60) as stream:
            events = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
        assert events[-1] == {"type": "end", "state": "interrupted"}
        assert any(e["type"] == "error" and "database or disk is full" in e["error"] for e in events)
        filler.unlink()
        assert client.get(f"/api/jobs/{job_id}").json()["state"] == "interrupted"
        assert client.post(f"/api/jobs/{job_id}/resume").status_code == 200
    engine.close()
