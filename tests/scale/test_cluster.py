"""Scans on a Dask cluster (core/cluster.py): a LocalCluster of worker processes writing to a real
PostgreSQL server, one worker killed with SIGKILL halfway; retries and recorded failures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest
from sqlalchemy import make_url

from core import cluster
from core.engine import AudioSamplerEngine
from tests import audio_factory as af
from tests.conftest import make_settings
from tests.postgres import PostgresServer, free_port

ROOT = Path(__file__).resolve().parent.parent.parent
#: Seconds between the regions of a generated file; each region is a tone this long, less 1 s.
REGION_STEP_S = 2.5

#: Counts committed inserts of each path into ``files`` (a rolled-back transaction counts nothing).
WRITES_TRIGGER = """
CREATE TABLE file_writes (path text NOT NULL);
CREATE FUNCTION note_file_write() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO file_writes (path) VALUES (NEW.path); RETURN NEW; END $$;
CREATE TRIGGER files_written AFTER INSERT ON files FOR EACH ROW EXECUTE FUNCTION note_file_write();
"""


def make_library(folder: Path, n: int) -> dict[str, list[tuple[float, float]]]:
    """``n`` WAV files of 1 to 3 tones between silences; path → the tones' spans (seconds)."""
    folder.mkdir(parents=True)
    library = {}
    for i in range(n):
        spans = [(0.5 + REGION_STEP_S * j, 0.5 + REGION_STEP_S * j + 1.0 + 0.05 * i) for j in range(1 + i % 3)]
        path = af.write(folder / f"take-{i:02d}.wav", af.with_gaps(spans, spans[-1][1] + 0.5))
        library[str(path)] = spans
    return library


@pytest.fixture
def postgres_url(postgres: PostgresServer, migrated_template: str) -> Iterator[str]:
    """A migrated database of the test's own that counts the writes of each file."""
    name = postgres.create_database(migrated_template)
    with _connect(postgres.url(name)) as connection:
        connection.execute(WRITES_TRIGGER)
    yield postgres.url(name)
    postgres.drop_database(name)


def _connect(url: str) -> psycopg.Connection:
    parsed = make_url(url)
    return psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username, dbname=parsed.database,
                           autocommit=True)


def _stored(url: str) -> dict[str, dict]:
    """path → status, regions ``[(start_s, end_s, [(plugin, status, duration_s)])]`` and committed writes."""
    with _connect(url) as connection:
        files = {path: {"status": status, "hash": digest, "regions": [], "writes": 0} for path, status, digest in
                 connection.execute("SELECT path, status, content_hash FROM files")}
        for path, writes in connection.execute("SELECT path, count(*) FROM file_writes GROUP BY path"):
            files.setdefault(path, {"status": None, "hash": None, "regions": [], "writes": 0})["writes"] = writes
        regions = {}
        for rid, path, start, end in connection.execute(
                "SELECT r.id, f.path, r.start_s, r.end_s FROM regions r JOIN files f ON f.id = r.file_id "
                "ORDER BY f.path, r.index"):
            regions[rid] = (start, end, [])
            files[path]["regions"].append(regions[rid])
        for rid, plugin, status, result in connection.execute(
                "SELECT region_id, plugin, status, result FROM region_analysis"):
            regions[rid][2].append((plugin, status, (result or {}).get("duration_s")))
    return files


@pytest.mark.slow
def test_a_local_cluster_scan_into_postgresql_survives_a_killed_worker(tmp_path: Path, postgres_url: str) -> None:
    library = make_library(tmp_path / "library", 16)
    settings = make_settings(tmp_path / "data", database_url=postgres_url, plugins=["features"])
    reports, killed = [], None
    with cluster.scanning(cluster.LOCAL, settings) as scan:
        workers = scan.client.run(os.getpid)
        assert len(workers) == 2 and os.getpid() not in workers.values()  # worker processes of their own
        for report in scan.analyze_paths([tmp_path / "library"]):
            reports.append(report)
            if len(reports) == 3:  # halfway through: SIGKILL a worker that is analysing a file
                busy = next(address for address, keys in scan.client.processing().items() if keys)
                victim = psutil.Process(workers[busy])
                sandbox = victim.children(recursive=True)  # its forkserver and sandbox workers
                assert sandbox
                victim.send_signal(signal.SIGKILL)
                killed = victim.pid
        reran = dict(scan.attempts)
        again = list(scan.analyze_paths([tmp_path / "library"]))  # all done already: nothing analysed again
    assert killed is not None and not psutil.pid_exists(killed)
    _wait_gone(sandbox)  # the dead worker's sandbox ended with it

    assert sorted(r["path"] for r in reports) == sorted(library)
    assert all(r["status"] == "ok" for r in reports), [r["error"] for r in reports if r["status"] != "ok"]
    assert reran and all(runs == 2 for runs in reran.values())  # the killed worker's task(s) ran again, once
    assert {r["id"] for r in again} == {r["id"] for r in reports} and not scan.attempts

    stored = _stored(postgres_url)
    assert sorted(stored) == sorted(library)
    for path, spans in library.items():
        file = stored[path]
        assert file["status"] == "ok" and file["writes"] == 1, (path, file)  # stored exactly once
        assert len(file["regions"]) == len(spans)
        for (start, end, analyses), (tone_start, tone_end) in zip(file["regions"], spans, strict=True):
            assert start == pytest.approx(tone_start, abs=0.05) and end == pytest.approx(tone_end, abs=0.05)
            [(plugin, status, duration)] = analyses  # one analysis per region: no half-written file
            assert (plugin, status) == ("features", "ok") and duration == pytest.approx(end - start, abs=0.01)


def _wait_gone(processes: list[psutil.Process], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in processes):
        assert time.monotonic() < deadline, f"outlived the killed worker: {processes}"
        time.sleep(0.1)


# ------------------------------------------------------------------ retries, recorded failures (in-process workers)


@pytest.fixture
def thread_cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A client of a LocalCluster whose one worker is a thread of this process (so that the tests
    can patch what the worker's engine does)."""
    from distributed import Client, LocalCluster

    monkeypatch.setattr(cluster, "_engine", None)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as local, \
            Client(local) as client:
        yield client
    cluster.close_worker_engine()


def test_a_task_that_meets_a_machine_error_is_retried_and_a_lasting_one_recorded(
        tmp_path: Path, postgres_url: str, thread_cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    library = make_library(tmp_path / "library", 3)
    flaky, broken, fine = sorted(library)
    real = AudioSamplerEngine.analyze_file
    calls: dict[str, int] = {}

    def analyze_file(self, path, plugins=None, force=False, progress=None):
        calls[path] = calls.get(path, 0) + 1
        if path == broken or (path == flaky and calls[path] == 1):
            return {"path": path, "status": "error", "error_code": "storage_error",
                    "error": "database error: the connection was lost"}
        return real(self, path, plugins, force, progress)

    monkeypatch.setattr(AudioSamplerEngine, "analyze_file", analyze_file)
    settings = make_settings(tmp_path / "data", database_url=postgres_url, plugins=["features"])
    with cluster.ClusterScan(thread_cluster, settings, remote=False) as scan:
        reports = {r["path"]: r for r in scan.analyze_paths([tmp_path / "library"])}
    assert calls == {flaky: 2, broken: 1 + cluster.TASK_RETRIES, fine: 1}
    assert scan.attempts == {flaky: 2, broken: 1 + cluster.TASK_RETRIES}
    assert reports[flaky]["status"] == reports[fine]["status"] == "ok"
    assert reports[broken]["status"] == "error" and reports[broken]["error_code"] == "storage_error"
    stored = _stored(postgres_url)
    assert stored[broken]["status"] == "error" and stored[broken]["hash"] == ""  # recorded; tried again next time
    assert [stored[p]["status"] for p in (flaky, fine)] == ["ok", "ok"]

    monkeypatch.setattr(AudioSamplerEngine, "analyze_file", real)
    with cluster.ClusterScan(thread_cluster, settings, remote=False) as scan:
        assert all(r["status"] == "ok" for r in scan.analyze_paths([broken]))
    assert _stored(postgres_url)[broken]["status"] == "ok" and _stored(postgres_url)[broken]["writes"] == 2


def test_a_file_whose_workers_died_is_recorded_unless_it_is_stored_whole(tmp_path: Path, postgres_url: str,
                                                                         thread_cluster) -> None:
    from distributed import KilledWorker

    class Lost:  # a future whose task the scheduler gave up on after its workers died
        def result(self):
            raise KilledWorker(task="analyze-file-0", last_worker=None, allowed_failures=3)

    settings = make_settings(tmp_path / "data", database_url=postgres_url, plugins=["features"])
    [path] = make_library(tmp_path / "library", 1)
    with cluster.ClusterScan(thread_cluster, settings, remote=False) as scan:
        lost = scan._report(Lost(), path)
        assert lost["status"] == "error" and lost["error_code"] == cluster.WORKER_LOST and lost["id"] is not None
        [done] = scan.analyze_paths([path])
        assert done["status"] == "ok"  # the empty hash recorded: the next scan analyses the file
        assert scan._report(Lost(), path)["id"] is None  # not recorded over the stored file
    assert _stored(postgres_url)[path]["status"] == "ok"


def test_a_cluster_needs_a_shared_database_and_a_scheduler_that_answers(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    sqlite = make_settings(tmp_path / "data")
    with pytest.raises(cluster.ClusterError, match="DATABASE_URL=postgresql"), \
            cluster.scanning("tcp://127.0.0.1:1", sqlite):
        pass
    cluster.check_database(sqlite, remote=False)  # a LocalCluster shares this machine's SQLite
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(cluster.ClusterError, match="cannot reach the Dask scheduler"), \
            cluster.connect("tcp://127.0.0.1:1", 1):
        pass


@pytest.mark.slow
def test_main_scan_on_a_local_cluster(tmp_path: Path) -> None:
    library = make_library(tmp_path / "library", 4)
    env = {**os.environ, "AUDIO_SAMPLER_DATA_DIR": str(tmp_path / "data"), "AUDIO_SAMPLER_WORKERS": "2",
           "AUDIO_SAMPLER_PLUGINS": '["features"]'}
    done = subprocess.run([sys.executable, "main.py", "scan", str(tmp_path / "library"), "--cluster", "local",
                           "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    reports = json.loads(done.stdout)
    assert [r["path"] for r in reports] == sorted(library)  # in the order of the files, not of their ends
    assert [len(r["regions"]) for r in reports] == [len(library[r["path"]]) for r in reports]
    unknown = subprocess.run([sys.executable, "main.py", "scan", str(tmp_path / "library"), "--cluster", "local",
                              "--plugins", "nope"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert unknown.returncode == 2 and "unknown plugin" in unknown.stderr
    remote = subprocess.run([sys.executable, "main.py", "scan", str(tmp_path / "library"), "--cluster",
                             "tcp://127.0.0.1:1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert remote.returncode == 2 and "DATABASE_URL" in remote.stderr and "Traceback" not in remote.stderr


@pytest.mark.slow
def test_main_scan_on_a_cluster_started_with_the_dask_command(tmp_path: Path, postgres_url: str) -> None:
    """``dask scheduler`` without this project on its path (it unpickles every task), ``dask worker``
    with it, and the client's settings (its database, its plugins) used by the worker."""
    library = make_library(tmp_path / "library", 3)
    dask = [str(Path(sys.executable).parent / "dask")]
    port = free_port()
    plain = {k: v for k, v in os.environ.items() if not k.startswith(("AUDIO_SAMPLER_", "PYTHONPATH", "DATABASE_URL"))}
    scheduler = subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 cwd=tmp_path, env=plain, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker_env = {**plain, "PYTHONPATH": str(ROOT), "AUDIO_SAMPLER_DATA_DIR": str(tmp_path / "worker")}
    worker = subprocess.Popen([*dask, "worker", f"tcp://127.0.0.1:{port}", "--nthreads", "2", "--no-dashboard",
                               "--host", "127.0.0.1"], cwd=tmp_path, env=worker_env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        env = {**plain, "AUDIO_SAMPLER_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": postgres_url,
               "AUDIO_SAMPLER_PLUGINS": '["features"]'}
        done = subprocess.run([sys.executable, "main.py", "scan", str(tmp_path / "library"), "--cluster",
                               f"tcp://127.0.0.1:{port}", "--json"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)
    finally:
        for process in (worker, scheduler):
            process.terminate()
        for process in (worker, scheduler):
            process.wait(timeout=60)
    assert done.returncode == 0, done.stderr
    reports = json.loads(done.stdout)
    assert [r["path"] for r in reports] == sorted(library)
    assert [[*r["regions"][0]["analysis"]] for r in reports] == [["features"]] * 3  # the client's plugins
    stored = _stored(postgres_url)
    assert all(stored[path]["status"] == "ok" and len(stored[path]["regions"]) == len(spans)
               for path, spans in library.items())
    assert (tmp_path / "worker" / "tmp").is_dir()  # the worker's own data folder
