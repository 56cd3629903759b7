"""Fault injection, continued: a server process over its file size limit (``RLIMIT_FSIZE``,
no root needed), ``POST /api/jobs`` and uploads onto a full database disk and onto a
read-only database, an upload into a read-only upload folder, and a job whose file could
not be stored, resumed.

After each fault: ``PRAGMA integrity_check`` passes, every file is stored whole or not
at all, the error is in ``/status``, and the work succeeds once the fault is gone.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx
import psutil
from fastapi.testclient import TestClient

from api.app import create_app
from core.engine import AudioSamplerEngine
from plugins.features import Features
from tests import audio_factory as af
from tests.conftest import make_settings
from tests.live_server import free_port
from tests.reliability.disks import fill, read_only, small_disk
from tests.reliability.test_faults import assert_whole, database_of, serve_process, wait_until
from tests.test_cli import cli_env

#: The server's file size limit: past this offset every write fails with EFBIG ("File too
#: large"), the database's WAL and pages included, an upload's body too.
FSIZE_LIMIT = 16 << 10


def unrecorded(base: str) -> list[dict]:
    return httpx.get(f"{base}/status", timeout=60).json()["unrecorded_errors"]


def upload(base: str, path: Path) -> httpx.Response:
    return httpx.post(f"{base}/api/analyze/upload", files=[("files", (path.name, path.read_bytes(), "audio/wav"))],
                      timeout=60)


def test_a_server_over_its_file_size_limit_refuses_writes_clearly_and_recovers(tmp_path: Path) -> None:
    """RLIMIT_FSIZE set on the live server process (its workers keep theirs, so decoding
    works and the database write is what fails)."""
    data = tmp_path / "data"
    files = [af.write(tmp_path / f"take{i}.wav", af.with_gaps([(0.2, 1.0), (1.5, 2.5)], 3.0 + i)) for i in range(3)]
    big = af.write(tmp_path / "big.wav", af.music(15.0))  # 1.3 MB: past the limit (and the 1 MB that
    # the multipart parser keeps in memory) while it is received
    small = af.write(tmp_path / "small.wav", af.tone(440, 0.1))  # 4.4 kB: received, then no job can be written
    env = {**cli_env(data), "AUDIO_SAMPLER_LIBRARY_ROOTS": json.dumps([str(tmp_path)])}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve_process(port, env)
    try:
        assert httpx.post(f"{base}/analyze", json={"file_path": str(files[0])}, timeout=120).json()["status"] == "ok"
        process = psutil.Process(server.pid)
        unlimited = process.rlimit(psutil.RLIMIT_FSIZE)
        process.rlimit(psutil.RLIMIT_FSIZE, (FSIZE_LIMIT, unlimited[1]))
        try:
            report = httpx.post(f"{base}/analyze", json={"file_path": str(files[1])}, timeout=120).json()
            assert (report["status"], report["error_code"], report["id"]) == ("error", "storage_error", None)
            assert report["error"].startswith("database error: ")

            job = httpx.post(f"{base}/api/jobs", json={"paths": [str(files[2])]}, timeout=60)
            assert job.status_code in (503, 507) and job.json() == {"error": report["error"]}

            for name, refused in (("big.wav", upload(base, big)), ("small.wav", upload(base, small))):
                assert refused.status_code in (503, 507), (name, refused.text)
                assert set(refused.json()) == {"error"} and "Traceback" not in refused.text
            assert "File too large" in upload(base, big).json()["error"]  # the body itself could not be kept
            assert not [p for p in (data / "uploads").rglob("*")]  # no partial file, no folder

            errors = {(e["path"], e["error_code"]) for e in unrecorded(base)}
            assert {(str(files[1]), "storage_error"), (str(files[2]), "storage_error"),
                    ("small.wav", "storage_error")} <= errors
            assert httpx.get(f"{base}/health").json() == {"status": "ok"}
            assert server.poll() is None  # SIGXFSZ did not end it
        finally:
            process.rlimit(psutil.RLIMIT_FSIZE, unlimited)

        assert [httpx.post(f"{base}/analyze", json={"file_path": str(f)}, timeout=120).json()["status"]
                for f in files] == ["ok"] * 3
        job_id = upload(base, big).json()["job_id"]
        done = wait_until(lambda: (j := httpx.get(f"{base}/api/jobs/{job_id}").json())["state"] == "done" and j,
                          120, "the upload's job")
        assert [f["status"] for f in done["files"]] == ["ok"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    settings = make_settings(data)
    assert sorted(database_of(settings)) == sorted([*map(str, files), done["files"][0]["path"]])
    assert_whole(settings)


def test_post_jobs_and_uploads_on_a_full_database_disk_are_a_clear_507(full_database_disk, tmp_path: Path) -> None:
    settings = full_database_disk
    song = af.write(tmp_path / "song.wav", af.with_gaps([(0.2, 1.0)], 1.5))
    short = af.write(tmp_path / "short.wav", af.tone(440, 0.05))
    with TestClient(create_app(settings, AudioSamplerEngine(settings, plugins=[Features]))) as client:
        filler = fill(settings.data_dir)
        refused = client.post("/api/jobs", json={"paths": [str(song)]})
        assert refused.status_code == 507
        assert refused.json() == {"error": "database error: database or disk is full"}
        assert client.get("/api/jobs").json() == []
        uploaded = client.post("/api/analyze/upload", files=[("files", ("short.wav", short.read_bytes()))])
        assert uploaded.status_code == 507 and "Traceback" not in uploaded.text
        assert not [p for p in settings.upload_dir.rglob("*")]
        errors = client.get("/status").json()["unrecorded_errors"]
        assert [(e["path"], e["error_code"]) for e in errors[-2:]] == [(str(song), "storage_error"),
                                                                       ("short.wav", "storage_error")]
        assert client.get("/health").json() == {"status": "ok"}
        filler.unlink()
        job_id = client.post("/api/jobs", json={"paths": [str(song)]}).json()["job_id"]
        job = wait_until(lambda: (j := client.get(f"/api/jobs/{job_id}").json())["state"] == "done" and j, 120, "job")
        assert [f["status"] for f in job["files"]] == ["ok"]
        client.app.state.engine.close()
    assert sorted(database_of(settings)) == [str(song)]
    assert_whole(settings)


def test_a_file_that_could_not_be_stored_is_analysed_again_when_the_job_is_resumed(tmp_path: Path) -> None:
    """Decoding the long file fills the temp disk (``storage_error``): the job ends
    interrupted with that file shown but not finished; resumed with room, it is analysed."""
    settings = make_settings(tmp_path / "data")
    short = af.write(tmp_path / "short.wav", af.with_gaps([(0.1, 0.6)], 0.8))  # 70 kB decoded
    long = af.write(tmp_path / "long.wav", af.with_gaps([(0.5, 8.0)], 10.0))  # 880 kB decoded
    settings.ensure_dirs()
    with TestClient(create_app(settings, AudioSamplerEngine(settings, plugins=[Features]))) as client:
        with small_disk(settings.tmp_dir, 256):
            job_id = client.post("/api/jobs", json={"paths": [str(short), str(long)]}).json()["job_id"]
            job = wait_until(lambda: (j := client.get(f"/api/jobs/{job_id}").json())["state"] not in
                             ("queued", "running") and j, 120, "the job")
        assert (job["state"], job["finished_files"], job["total_files"]) == ("interrupted", 1, 2)
        outcome = {f["path"]: (f["status"], f["error_code"]) for f in job["files"]}
        assert outcome == {str(short): ("ok", None), str(long): ("error", "storage_error")}
        assert client.get("/status").json()["unrecorded_errors"][-1]["path"] == str(long)
        assert sorted(database_of(settings)) == [str(short)]

        assert client.post(f"/api/jobs/{job_id}/resume").status_code == 200
        job = wait_until(lambda: (j := client.get(f"/api/jobs/{job_id}").json())["state"] == "done" and j, 120,
                         "the resumed job")
        assert job["finished_files"] == 2 and [f["status"] for f in job["files"]] == ["ok", "ok"]
        client.app.state.engine.close()
    assert sorted(database_of(settings)) == sorted([str(short), str(long)])
    assert_whole(settings)
    assert not list(settings.tmp_dir.iterdir())


def test_an_upload_into_a_read_only_upload_folder_is_a_507_in_status(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", plugins=["features"])
    settings.ensure_dirs()
    short = af.write(tmp_path / "short.wav", af.tone(440, 0.2))
    with read_only(settings.upload_dir), TestClient(create_app(settings)) as client:
        refused = client.post("/api/analyze/upload", files=[("files", ("short.wav", short.read_bytes()))])
        assert refused.status_code == 507
        assert refused.json() == {"error": "the server could not store the upload: Read-only file system"}
        assert client.get("/status").json()["unrecorded_errors"][-1]["path"] == "short.wav"
        assert client.get("/api/jobs").json() == []
    assert not list(settings.upload_dir.iterdir())


def test_post_jobs_and_uploads_on_a_read_only_database_are_a_clear_503(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    song = af.write(tmp_path / "song.wav", af.with_gaps([(0.2, 1.0)], 1.5))
    short = af.write(tmp_path / "short.wav", af.tone(440, 0.2))
    with AudioSamplerEngine(settings, plugins=[Features]) as engine:
        assert engine.analyze_file(song)["status"] == "ok"
    with read_only(settings.data_dir / "audio.db"), AudioSamplerEngine(settings, plugins=[Features]) as engine, \
            TestClient(create_app(settings, engine)) as client:
        message = {"error": "database error: attempt to write a readonly database"}
        refused = client.post("/api/jobs", json={"paths": [str(song)]})
        assert (refused.status_code, refused.json()) == (503, message)
        uploaded = client.post("/api/analyze/upload", files=[("files", ("short.wav", short.read_bytes()))])
        assert (uploaded.status_code, uploaded.json()) == (503, message)
        assert not list(settings.upload_dir.rglob("*"))
        errors = client.get("/status").json()["unrecorded_errors"]
        assert [(e["path"], e["error"]) for e in errors[-2:]] == [(str(song), message["error"]),
                                                                  ("short.wav", message["error"])]
        assert client.get("/api/jobs").json() == [] and client.get("/health").json() == {"status": "ok"}
        assert client.get("/database/stats").status_code == 200  # reading still works
    assert sorted(database_of(settings)) == [str(song)]
    assert_whole(settings)
