"""Fault injection: full disks, a read-only database, processes killed from outside.

After each fault the database passes ``PRAGMA integrity_check``, every file is stored
whole or not at all, the error is visible in ``/status``, and the work succeeds once the
fault is gone. (Faults already covered elsewhere: plugins that crash, hang or eat memory
in tests/core/test_engine.py and test_sandbox.py; a scan killed with SIGKILL in
tests/test_cli.py; the Essentia child killed during a call in tests/core/test_bridge.py.)
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.engine import AudioSamplerEngine
from plugins.features import Features
from tests import audio_factory as af
from tests.conftest import make_settings
from tests.reliability.disks import fill, read_only, small_disk


def stored(settings) -> dict[str, tuple[str, int, int]]:
    """path → (status, regions, analyses) of every file in the SQLite database, after
    checking its integrity."""
    with closing(sqlite3.connect(settings.data_dir / "audio.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT f.path, f.status, COUNT(DISTINCT r.id), COUNT(a.id) FROM files f "
                          "LEFT JOIN regions r ON r.file_id = f.id LEFT JOIN region_analysis a ON a.region_id = r.id "
                          "GROUP BY f.id").fetchall()
    return {path: (status, regions, analyses) for path, status, regions, analyses in rows}


def assert_whole(settings) -> None:
    for path, (status, regions, analyses) in stored(settings).items():
        assert (status == "ok" and analyses == regions >= 1) or (status == "error" and regions == 0), path


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
        assert stored(settings) == {}  # not recorded as a broken file...
        assert engine.status()["unrecorded_errors"][-1]["path"] == str(song)
        assert engine.analyze_file(song)["status"] == "ok"  # ...so it is analysed once there is room
    assert_whole(settings)


@pytest.fixture
def full_database_disk(tmp_path: Path):
    """Settings whose database lies on a 2 MiB disk (decoded audio elsewhere)."""
    settings = make_settings(tmp_path / "data")
    with small_disk(settings.data_dir, 2048), small_disk(settings.tmp_dir, 64 * 1024):
        yield settings


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
        assert sorted(stored(settings)) == [str(files[0])]
        filler.unlink()
        assert [client.post("/analyze", json={"file_path": str(f)}).json()["status"] for f in files] == ["ok"] * 3
        client.app.state.engine.close()
    assert sorted(stored(settings)) == sorted(map(str, files))
    assert_whole(settings)


def test_an_upload_onto_a_full_disk_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", plugins=["features"])
    song = af.write(tmp_path / "song.wav", af.music(20.0))  # 1.8 MB
    with small_disk(settings.data_dir, 1024), TestClient(create_app(settings)) as client:
        upload = [("files", ("song.wav", song.read_bytes(), "audio/wav"))]
        refused = client.post("/api/analyze/upload", files=upload)
        assert refused.status_code == 507 and "No space left on device" in refused.json()["error"]
        assert not [p for p in settings.upload_dir.rglob("*")]  # no partial file, no empty folder
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
    assert sorted(stored(settings)) == [str(first)]
    assert_whole(settings)
