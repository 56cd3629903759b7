"""Jobs, uploads and their progress stream; paths confined to the library."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from database.models import Job, JobState
from database.session import Database
from tests import audio_factory as af
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("jobs"), plugins=["features"], max_upload_mb=1,
                             database_url=module_database_url)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def events_of(client: TestClient, job_id: str) -> list[tuple[str, dict]]:
    """Every Server-Sent Event of a job, until its end."""
    events, name = [], None
    with client.stream("GET", f"/api/jobs/{job_id}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[len("data: "):])))
    return events


def wait_for(client: TestClient, job_id: str, states: tuple[str, ...], timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} is still {job['state']}")


def test_upload_several_files_and_follow_them_to_the_end(client: TestClient, tmp_path: Path) -> None:
    loop = af.write(tmp_path / "loop one.wav", af.with_gaps([(0.2, 1.2), (1.6, 2.8)], 3.0))
    tone = af.write(tmp_path / "tone.mp3", af.tone(330, 2.0))
    files = [("files", ("loop one.wav", loop.read_bytes(), "audio/wav")),
             ("files", ("tone.mp3", tone.read_bytes(), "audio/mpeg")),
             ("files", ("../../broken.flac", b"fLaC" + os.urandom(2000), "audio/flac"))]
    created = client.post("/api/analyze/upload", files=files)
    assert created.status_code == 202 and created.json()["files"] == 3
    job_id = created.json()["job_id"]
    events = events_of(client, job_id)
    assert events[-1] == ("end", {"type": "end", "state": "done"})
    assert {"decoding", "analysing", "done"} <= {e["stage"] for name, e in events if name == "progress"}
    finished = {Path(e["path"]).name: e for name, e in events if name == "file"}
    assert set(finished) == {"loop one.wav", "tone.mp3", "broken.flac"}  # the name lost its "../"
    assert finished["loop one.wav"]["regions"] == 2 and finished["tone.mp3"]["status"] == "ok"
    assert finished["broken.flac"]["status"] == "error" and finished["broken.flac"]["error"]
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["state"] == "done" and job["finished_files"] == 3
    assert all(f["file_id"] for f in job["files"])
    assert client.get("/api/regions", params={"query": "loop one"}).json()["total"] == 2
    assert job_id in [j["id"] for j in client.get("/api/jobs").json()]


def test_uploads_are_checked_before_they_are_kept(client: TestClient) -> None:
    uploads = Path(client.app.state.settings.upload_dir)
    before = sorted(uploads.rglob("*"))
    text = client.post("/api/analyze/upload", files=[("files", ("notes.txt", b"hello", "text/plain"))])
    assert text.status_code == 400 and "not an audio file" in text.json()["error"]
    big = client.post("/api/analyze/upload", files=[("files", ("big.wav", bytes(3 << 20), "audio/wav"))])
    assert big.status_code == 413 and "MiB" in big.json()["error"]
    empty = client.post("/api/analyze/upload", files=[("files", ("empty.wav", b"", "audio/wav"))])
    assert empty.status_code == 400 and "empty" in empty.json()["error"]
    assert sorted(uploads.rglob("*")) == before  # nothing half-written is left


def test_cancel_then_resume_a_job(client: TestClient, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(8):
        af.write(folder / f"hit{i}.wav", af.clicks(4, 3.0) + af.tone(200 + 50 * i, 3.0, amp=0.2))
    job_id = client.post("/api/jobs", json={"paths": [str(folder)]}).json()["job_id"]
    cancelled = client.delete(f"/api/jobs/{job_id}")
    assert cancelled.status_code == 200
    job = wait_for(client, job_id, ("cancelled",))
    assert job["finished_files"] < 8
    assert client.delete(f"/api/jobs/{job_id}").status_code == 409
    assert client.post(f"/api/jobs/{job_id}/resume").status_code == 200
    job = wait_for(client, job_id, ("done",))
    assert job["finished_files"] == 8 and all(f["status"] == "ok" for f in job["files"])
    assert client.post(f"/api/jobs/{job_id}/resume").status_code == 409


def test_a_job_running_when_the_server_died_is_interrupted_then_resumable(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path / "data", plugins=["features"], database_url=database_url)
    settings.ensure_dirs()
    path = af.write(tmp_path / "a.wav", af.tone(440, 1.0))
    database = Database(settings.effective_database_url)
    database.migrate()
    with database.session() as session:
        session.add(Job(id="f" * 32, state=JobState.RUNNING, paths=[str(path)], plugins=None, force=False,
                        outcomes={}))
    database.dispose()
    with TestClient(create_app(settings)) as restarted:
        assert restarted.get(f"/api/jobs/{'f' * 32}").json()["state"] == "interrupted"
        restarted.post(f"/api/jobs/{'f' * 32}/resume")
        assert wait_for(restarted, "f" * 32, ("done",))["files"][0]["status"] == "ok"


def test_paths_outside_the_library_are_refused(tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    inside = af.write(library / "in.wav", af.tone(440, 1.0))
    (library / "escape.wav").symlink_to("/etc/passwd")
    settings = make_settings(tmp_path / "data", plugins=["features"], library_roots=[library])
    with TestClient(create_app(settings)) as test_client:
        for path in ("/etc/passwd", f"{library}/../../etc/passwd", str(library / "escape.wav"), "in.wav\x00.txt"):
            response = test_client.post("/analyze", json={"file_path": path})
            assert response.status_code == 403, path
            assert "library" in response.json()["error"] or "NUL" in response.json()["error"]
        assert test_client.post("/api/jobs", json={"paths": ["/etc"]}).status_code == 403
        outside = tmp_path / "outside.wav"
        af.write(outside, af.tone(220, 1.0))
        (library / "link.wav").symlink_to(outside)  # found in the folder, but leads outside
        job = test_client.post("/api/jobs", json={"paths": [str(library)]}).json()
        assert job["files"] == 1  # in.wav only: link.wav and escape.wav lead outside
        assert test_client.post("/analyze", json={"file_path": "in.wav"}).json()["path"] == str(inside)
        assert test_client.get("/api/jobs/nope").json() == {"error": "no job nope"}


def test_resources_and_cleanup(client: TestClient) -> None:
    settings = client.app.state.settings
    resources = client.get("/api/system/resources").json()
    assert resources["cpu_count"] >= 1 and resources["disk_free_mb"] > 0 and resources["server_rss_mb"] > 10
    assert resources["workers"]["workers"] == 2 and resources["active_jobs"] >= 0
    stale = settings.tmp_dir / "999999999-gone-0.f32"  # no such process
    stale.write_bytes(bytes(16))
    cut_off = settings.upload_dir / "cut" / "song.wav.part"
    cut_off.parent.mkdir()
    cut_off.write_bytes(bytes(16))
    fresh = settings.upload_dir / "fresh" / "song.wav.part"
    fresh.parent.mkdir()
    fresh.write_bytes(bytes(16))
    hour_ago = time.time() - 2 * 3600
    os.utime(cut_off, (hour_ago, hour_ago))
    report = client.post("/api/system/cleanup").json()
    assert report["temp_files"] == 1 and report["partial_uploads"] == 1
    assert not stale.exists() and not cut_off.exists() and fresh.exists()
    os.utime(cut_off.parent, (hour_ago, hour_ago))
    assert client.post("/api/system/cleanup").json()["empty_folders"] == 1 and fresh.parent.exists()
