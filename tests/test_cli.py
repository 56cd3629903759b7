"""The command line as a user runs it: real processes, real signals."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx
import psutil
import pytest

from tests import audio_factory as af
from tests.live_server import free_port

ROOT = Path(__file__).resolve().parent.parent


def cli_env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "AUDIO_SAMPLER_DATA_DIR": str(data_dir), "AUDIO_SAMPLER_WORKERS": "2",
            "AUDIO_SAMPLER_PLUGINS": '["features"]'}


def run_cli(data_dir: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, env=cli_env(data_dir),
                          capture_output=True, text=True, timeout=timeout)


def test_analyze_json_follows_the_stable_shape(tmp_path: Path, gaps_wav: Path) -> None:
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"\x00" * 1000)
    done = run_cli(tmp_path / "data", "analyze", str(gaps_wav), str(broken), "--json")
    assert done.returncode == 1, done.stderr  # one file failed
    reports = json.loads(done.stdout)
    assert [r["status"] for r in reports] == ["ok", "error"]
    good, bad = reports
    assert good["duration_s"] == pytest.approx(4.0, abs=0.01) and len(good["regions"]) == 2
    assert good["regions"][0]["analysis"]["features"]["status"] == "ok"
    assert bad["error"] and bad["regions"] == []
    assert "Traceback" not in done.stderr


def test_analyze_prints_one_line_per_file(tmp_path: Path, gaps_wav: Path) -> None:
    done = run_cli(tmp_path / "data", "analyze", str(gaps_wav))
    assert done.returncode == 0
    assert done.stdout.startswith("ok ") and "2 regions" in done.stdout


def test_usage_errors(tmp_path: Path, gaps_wav: Path) -> None:
    done = run_cli(tmp_path / "data", "analyze", str(gaps_wav), "--plugins", "nope")
    assert done.returncode == 2 and "unknown plugin" in done.stderr
    assert run_cli(tmp_path / "data").returncode == 2


def test_serve_refuses_an_open_address_without_a_token(tmp_path: Path) -> None:
    done = run_cli(tmp_path / "data", "serve", "--host", "0.0.0.0", timeout=60)
    assert done.returncode == 2 and "AUDIO_SAMPLER_API_TOKEN" in done.stderr and "Traceback" not in done.stderr


def test_plugins_lists_the_chain(tmp_path: Path) -> None:
    done = run_cli(tmp_path / "data", "plugins", "--json")
    assert [p["name"] for p in json.loads(done.stdout)] == ["features"]
    assert run_cli(tmp_path / "data", "plugins").stdout.startswith("features ")


def make_library(folder: Path, n: int, seconds: float = 4.0) -> list[Path]:
    folder.mkdir(parents=True)
    return [af.write(folder / f"take-{i:02d}.flac", af.music(seconds, seed=i)) for i in range(n)]


def stored(db: Path) -> dict[str, tuple[str, int, int]]:
    """path → (status, regions, analyses) for every stored file."""
    with closing(sqlite3.connect(db)) as connection:
        try:
            rows = connection.execute(
                "SELECT f.path, f.status, COUNT(DISTINCT r.id), COUNT(a.id) FROM files f "
                "LEFT JOIN regions r ON r.file_id = f.id LEFT JOIN region_analysis a ON a.region_id = r.id "
                "GROUP BY f.id").fetchall()
        except sqlite3.OperationalError:  # the schema is not there yet
            return {}
    return {path: (status, regions, analyses) for path, status, regions, analyses in rows}


@pytest.mark.slow
def test_scan_killed_with_sigkill_leaves_whole_files_and_finishes_on_rerun(tmp_path: Path) -> None:
    library = make_library(tmp_path / "library", 16)
    data = tmp_path / "data"
    db = data / "audio.db"
    scan = subprocess.Popen([sys.executable, "main.py", "scan", str(tmp_path / "library")], cwd=ROOT,
                            env=cli_env(data), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and (not db.exists() or len(stored(db)) < 3):
        time.sleep(0.05)
    scan.send_signal(signal.SIGKILL)
    scan.wait()
    before = stored(db)
    assert 3 <= len(before) < len(library)
    for status, regions, analyses in before.values():  # whole files only
        assert status == "ok" and regions >= 1 and analyses == regions
    with closing(sqlite3.connect(db)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    _wait_for_session_to_end(scan.pid)  # the workers died with their parent

    done = run_cli(data, "scan", str(tmp_path / "library"))
    assert done.returncode == 0, done.stderr
    assert "16 files, 0 with errors" in done.stderr
    after = stored(db)
    assert sorted(after) == sorted(str(p) for p in library)
    assert all(status == "ok" and analyses == regions >= 1 for status, regions, analyses in after.values())
    assert not list((data / "tmp").glob("*.f32"))


def _wait_for_session_to_end(sid: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in psutil.process_iter(["pid"]) if _sid(p.pid) == sid]
        if not left:
            return
        time.sleep(0.1)
    raise AssertionError(f"processes outlived the killed scan: {left}")


def _sid(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except (ProcessLookupError, PermissionError):
        return None


def _upload_and_follow(base: str, folder: Path) -> None:
    """Upload two files to a live server, follow the job's event stream to its end."""
    files = [("files", (name, af.write(folder / name, af.with_gaps([(0.2, 1.0)], 1.5)).read_bytes()))
             for name in ("first take.wav", "second.flac")]
    job_id = httpx.post(f"{base}/api/analyze/upload", files=files, timeout=30).json()["job_id"]
    with httpx.stream("GET", f"{base}/api/jobs/{job_id}/events", timeout=120) as stream:
        events = [json.loads(line[len("data: "):]) for line in stream.iter_lines() if line.startswith("data: ")]
    assert events[-1] == {"type": "end", "state": "done"}
    assert sorted(Path(e["path"]).name for e in events if e["type"] == "file") == ["first take.wav", "second.flac"]
    assert httpx.get(f"{base}/api/regions", params={"query": "first take"}).json()["total"] == 1


@pytest.mark.slow
def test_serve_answers_health_takes_uploads_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "main.py", "serve", "--port", str(port)], cwd=ROOT,
                              env=cli_env(tmp_path / "data"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "the server did not come up"
                time.sleep(0.1)
        assert response.json() == {"status": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/plugins").json()[0]["name"] == "features"
        _upload_and_follow(f"http://127.0.0.1:{port}", tmp_path)
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert server.returncode in (0, -signal.SIGTERM), output  # uvicorn re-raises the signal it handled
    assert "Application shutdown complete" in output and "Traceback" not in output
    _wait_for_session_to_end(server.pid)


def test_search_similar_and_duplicates(tmp_path: Path) -> None:
    """A loop, a copy of it as FLAC 3 dB quieter, and a different sound; found from the CLI."""
    sr = 44_100
    loop = af.music(4.0, sr, bpm=120)
    paths = [af.write(tmp_path / "loop.wav", loop, sr), af.write(tmp_path / "loop copy.flac", loop * 0.7, sr),
             af.write(tmp_path / "hum.wav", af.tone(110.0, 4.0, sr, 0.3), sr)]
    data = tmp_path / "data"
    env_plugins = ("--plugins", "features,tempo_meter,embeddings")
    assert run_cli(data, "analyze", *map(str, paths), *env_plugins).returncode == 0
    found = run_cli(data, "search", "--bpm", "110-130", "--json")
    rows = json.loads(found.stdout)
    assert found.returncode == 0 and {r["name"] for r in rows} == {"loop.wav", "loop copy.flac"}
    original = next(r for r in rows if r["name"] == "loop.wav")
    similar = run_cli(data, "similar", str(original["id"]), "-k", "2", "--json")
    assert [r["name"] for r in json.loads(similar.stdout)] == ["loop copy.flac", "hum.wav"]
    text = run_cli(data, "similar", str(original["id"]), "-k", "1")
    assert "loop copy.flac" in text.stdout and "1 regions most like" in text.stderr
    duplicates = json.loads(run_cli(data, "duplicates", "--json").stdout)
    assert [sorted(Path(p).name for p in pair["paths"]) for pair in duplicates["files"]] == [
        ["loop copy.flac", "loop.wav"]]
    assert duplicates["regions"] == [] and duplicates["identical_files"] == []
    missing = run_cli(data, "similar", "999")
    assert missing.returncode == 1 and "no yamnet vector" in missing.stderr
    bad = run_cli(data, "search", "--key", "H minor")
    assert bad.returncode == 2 and "unknown key" in bad.stderr and "Traceback" not in bad.stderr
    assert run_cli(data, "search", "--bpm", "fast").returncode == 2
