"""Scans on a Dask distributed cluster: one task per file, each run by an engine on a worker.

    main.py scan DIR --cluster tcp://HOST:8786   # the workers of a running cluster
    main.py scan DIR --cluster local             # a LocalCluster of AUDIO_SAMPLER_WORKERS processes

Both take the same path: every file is a task, :func:`analyze_task`, which runs
:meth:`core.engine.AudioSamplerEngine.analyze_file` in an engine of the worker's own (one
per worker process, with a sandbox of as many processes as the worker has threads, made
on the first task and kept). So the work on one file is exactly the plain scan's:
hashing, decoding and plugins in the sandbox, then the whole file written to the shared
database **by the worker, in one transaction**. Why the worker writes, and not this
client as results come back:

- a worker killed at any moment leaves the file whole or absent: the database rolls the
  open transaction of a dead connection back, and the scheduler gives the task (a worker
  lost with it is not its failure) to another worker;
- a file the dead worker had committed but not yet reported is not analysed or stored
  again: the task that runs again finds it stored with the same content hash and
  current plugin versions, and returns the stored report;
- a file is never stored twice: ``files.path`` is unique, and two tasks of one file that
  do meet (a worker the scheduler wrongly took for dead) end with one row, the second
  writer's unique-key failure being a ``storage_error`` that is tried again, and skipped.

A task whose engine met an error of the machine rather than of the file
(:data:`RETRIED_CODES`: the database refused or could not be reached, an internal error,
an engine shutting down) raises :class:`TaskFailed`, which Dask runs again up to
``retries`` times. A task that fails for good, or whose workers kept dying
(``distributed.scheduler.allowed-failures``: :data:`WORKER_LOST`), ends as an error
report that this client records in the database — unless the file is stored whole
already — with an empty content hash, so the next scan tries the file again. The tasks
that ran more than once are counted (:attr:`ClusterScan.attempts`).

Remote workers must run this project's code (``cd`` to a checkout, then
``.venv/bin/dask worker tcp://HOST:8786``), see the files at the paths the client names
(a shared file system), and reach the database; they keep their decoded audio in their
own ``AUDIO_SAMPLER_DATA_DIR``. The client sends its settings with the task (the API
token left out), the database URL included: over a cluster's plain TCP the URL travels
in clear, so give the password through ``~/.pgpass`` (``PGPASSFILE``) on the workers
rather than in the URL, or run the cluster with TLS.
"""

from __future__ import annotations

import atexit
import json
import logging
import multiprocessing as mp
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from core.config import Settings
from core.engine import MACHINE_ERRORS, AudioSamplerEngine, error_report, expand_paths
from core.plugin import discover, resolve
from database import queries, store
from database.models import FileStatus
from database.session import Database

log = logging.getLogger(__name__)

#: ``--cluster`` value that starts a LocalCluster on this machine.
LOCAL = "local"
#: Times a task that raised :class:`TaskFailed` is run again.
TASK_RETRIES = 2
#: Error codes of the engine after which the task is run again: the machine's, and an
#: engine that shut down before the file was finished.
RETRIED_CODES = MACHINE_ERRORS | {"cancelled"}
#: Error code of a file whose task was lost with more workers than the scheduler allows.
WORKER_LOST = "worker_lost"
#: Seconds to wait for a remote scheduler to answer.
CONNECT_TIMEOUT_S = 30


class ClusterError(Exception):
    """The cluster cannot be used as asked (no scheduler at the address, a database the workers cannot share)."""


class TaskFailed(Exception):
    """A file's task met an error of the machine, not of the file (its report in ``args[0]``): run it again."""

    @property
    def report(self) -> dict[str, Any]:
        return self.args[0]

    def __str__(self) -> str:
        return f"{self.report['path']}: {self.report['error']}"


# ---------------------------------------------------------------------- on a worker

_engine_lock = threading.Lock()
_engine: tuple[str, AudioSamplerEngine] | None = None


def analyze_task(path: str, plugins: list[str] | None, force: bool, settings: dict[str, Any]) -> dict[str, Any]:
    """Analyse and store one file on a Dask worker; return its report (see the module's docstring)."""
    report = worker_engine(settings).analyze_file(path, plugins, force)
    if report["status"] != "ok" and report.get("error_code") in RETRIED_CODES:
        raise TaskFailed(report)
    return report


def worker_engine(settings: dict[str, Any]) -> AudioSamplerEngine:
    """This worker process's engine for ``settings`` (made on first use; a task with other settings replaces it)."""
    global _engine
    key = json.dumps(settings, sort_keys=True)
    with _engine_lock:
        if _engine is not None and _engine[0] == key:
            return _engine[1]
        _close_engine_locked()
        _allow_children()
        _stop_profiler()
        engine = AudioSamplerEngine(Settings(**{**settings, "workers": _worker_threads()}))
        _engine = (key, engine)
        return engine


def close_worker_engine() -> None:
    """Stop this process's engine and its sandbox (at exit, and when settings change)."""
    with _engine_lock:
        _close_engine_locked()


def _close_engine_locked() -> None:
    global _engine
    if _engine is not None:
        _engine[1].close()
        _engine = None


atexit.register(close_worker_engine)


def _allow_children() -> None:
    """A worker under a Dask nanny is a daemonic process unless ``distributed.worker.daemon`` is
    false, and multiprocessing lets no daemonic process start children: the sandbox must. The flag
    only ever meant that the nanny ends this process; it still does, and the sandbox's workers,
    daemonic themselves, end with it."""
    process = mp.current_process()
    if process.daemon:
        process.daemon = False


def _stop_profiler() -> None:
    """Stop the statistical profiler of the Dask worker running this task: every 10 ms it walks
    the stacks of the worker's threads for the dashboard's profile page, which made a scan of short
    files 2.5 times slower (bench/scale.py); ``distributed.worker.profile.enabled: false`` keeps a
    worker from starting it at all."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except ValueError:  # not in a worker
        return
    for name in ("profile", "profile-cycle"):
        callback = worker.periodic_callbacks.get(name)
        if callback is not None:
            worker.loop.add_callback(callback.stop)  # on the worker's event loop, which runs it


def _worker_threads() -> int:
    """Threads of the Dask worker running this task (files it analyses at once), 1 outside a worker."""
    try:
        from distributed import get_worker

        return max(1, get_worker().state.nthreads)
    except ValueError:  # not in a worker (called directly)
        return 1


def _by_value(function: Callable) -> Callable:
    """``function`` (of this module) behind a closure, which cloudpickle sends by value: the
    scheduler unpickles every task it is given, so a task naming this project's modules would
    need this project on the scheduler's path; this one needs only the standard library there
    (the workers import ``function``'s module when they run it)."""
    module, name = function.__module__, function.__name__

    def run(*args: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(module), name)(*args)

    return run


# ---------------------------------------------------------------------- the client


@contextmanager
def scanning(address: str, settings: Settings, plugins: list[str] | None = None) -> Iterator[ClusterScan]:
    """A :class:`ClusterScan` on the cluster whose scheduler is at ``address``, or on a new
    LocalCluster of ``settings.effective_workers`` processes for :data:`LOCAL`. The database
    and the ``plugins`` named are checked before any cluster is reached or started
    (:class:`ClusterError`, :class:`core.plugin.PluginError`)."""
    remote = address != LOCAL
    check_database(settings, remote)
    resolve(discover(), plugins or settings.plugins or None)
    with connect(address, settings.effective_workers) as client, ClusterScan(client, settings, remote=remote) as scan:
        yield scan


def check_database(settings: Settings, remote: bool) -> None:
    """:class:`ClusterError` when the workers of a remote cluster could not share the database."""
    if remote and make_url(settings.effective_database_url).get_backend_name() == "sqlite":
        raise ClusterError("the workers of a cluster need a database they share: set DATABASE_URL="
                           "postgresql+psycopg://USER@HOST:PORT/DB (SQLite stays on one machine; --cluster local "
                           "can use it)")


@contextmanager
def connect(address: str, workers: int) -> Iterator[Any]:
    """A ``distributed.Client`` of the scheduler at ``address``, or with :data:`LOCAL` of a new
    LocalCluster of ``workers`` single-threaded worker processes on loopback (closed on exit)."""
    import dask
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.WARNING)  # not every connection and task it cancels
    if address == LOCAL:
        with dask.config.set({"distributed.worker.daemon": False, "distributed.worker.profile.enabled": False}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, silence_logs=logging.ERROR)
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, ValueError) as exc:  # TimeoutError is an OSError
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    with client:
        yield client


class ClusterScan:
    """Analyse files on the workers of ``client`` into the database of ``settings``.

    remote: the workers may be other machines, so the database must be one they share (not
    SQLite) and each keeps its decoded audio in its own data folder.
    """

    def __init__(self, client: Any, settings: Settings, *, remote: bool, retries: int = TASK_RETRIES):
        check_database(settings, remote)
        self.database = Database(settings.effective_database_url)
        self.client = client
        self.settings = settings
        self.retries = retries
        self.available = discover()
        self.database.migrate()  # once here, before the workers' engines look
        self.payload = settings.model_dump(mode="json", exclude={"api_token", *(["data_dir"] if remote else [])})
        self.payload["database_url"] = settings.effective_database_url
        #: Path → times its task ran, for the tasks that ran more than once (known after a scan).
        self.attempts: dict[str, int] = {}

    def select_plugins(self, names: list[str] | None) -> None:
        """Check the plugin names (:class:`core.plugin.PluginError` for an unknown one)."""
        resolve(self.available, names or self.settings.plugins or None)

    def analyze_paths(self, paths: Iterable[str | Path], plugins: list[str] | None = None,
                      force: bool = False) -> Iterator[dict[str, Any]]:
        """Analyse files and folders (recursively); yields one report per file as each finishes."""
        from distributed import as_completed

        files = [str(p.absolute()) for p in expand_paths(paths)]
        scan = uuid.uuid4().hex[:12]  # keys of this call's own (a cancelled earlier call's may linger)
        task = _by_value(analyze_task)
        futures = {self.client.submit(task, path, plugins, force, self.payload, pure=False,
                                      retries=self.retries, key=f"analyze-file-{scan}-{index}"): path
                   for index, path in enumerate(files)}
        try:
            for future in as_completed(futures):
                yield self._report(future, futures[future])
            self.attempts = self._attempts(futures)
        finally:  # a caller that stops early (Ctrl-C): the files not started are dropped
            self.client.cancel(list(futures))

    def close(self) -> None:
        self.database.dispose()

    def __enter__(self) -> ClusterScan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _report(self, future: Any, path: str) -> dict[str, Any]:
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        try:
            return future.result()
        except TaskFailed as exc:
            failed = exc.report
        except KilledWorker as exc:
            failed = error_report(path, WORKER_LOST, f"{exc.allowed_failures + 1} workers died while analysing this "
                                  "file (the scheduler's distributed.scheduler.allowed-failures): see their logs")
        except FutureCancelledError:
            return error_report(path, "cancelled", "the scan was cancelled before the file was analysed")
        except Exception as exc:  # the task itself raised (a worker without this project's code ...)
            failed = error_report(path, "task_failed", f"the task failed on the cluster: {type(exc).__name__}: {exc}")
        log.warning("%s: %s", path, failed["error"])
        return self._record(failed)

    def _record(self, failed: dict[str, Any]) -> dict[str, Any]:
        """Store a file's failed task as its error, unless the file is stored whole; the empty
        content hash makes the next scan try it again."""
        try:
            with self.database.session() as session:
                existing = queries.get_file(session, failed["path"])
                if existing is not None and existing.status == FileStatus.OK:
                    return failed
                file = store.replace_file(session, store.FileFacts(failed["path"], "", 0),
                                          error_code=failed["error_code"], error=failed["error"])
                return queries.file_report(file)
        except Exception:  # the database is what failed: the report is all there is
            log.exception("could not record the failure of %s", failed["path"])
            return failed

    def _attempts(self, futures: dict[Any, str]) -> dict[str, int]:
        """Path → runs, for tasks the scheduler ran more than once (a worker lost, a retry)."""
        keys = {future.key: path for future, path in futures.items()}
        retries = self.retries

        def count(dask_scheduler, keys=tuple(keys)):  # runs in the scheduler (pickled by value)
            states = (dask_scheduler.tasks.get(key) for key in keys)
            return {ts.key: 1 + ts.suspicious + max(0, retries - ts.retries) for ts in states if ts is not None}

        try:
            runs = self.client.run_on_scheduler(count)
        except Exception:  # only a count: never worth a failed scan
            log.warning("could not ask the scheduler how often tasks ran", exc_info=True)
            return {}
        return {keys[key]: n for key, n in runs.items() if n > 1}
