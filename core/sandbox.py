"""Run untrusted work (decoding, plugins) in worker processes that may fail in any way.

:meth:`Sandbox.call` runs a module-level function, named by ``"module:function"``, in
one of a fixed number of persistent worker processes, and always returns a
:class:`TaskResult`; it never raises for anything the function does:

==============  ==============================================================
``ok``          the function returned; ``value`` is what it returned
``error``       it raised; ``error`` is the exception type and message
``not_applicable``  it raised :class:`core.plugin.NotApplicable`
``timeout``     it ran past ``timeout_s``; the worker is killed and replaced
``crashed``     the worker died (segfault, ``os.abort()``, killed by a signal)
``oom``         it tried to use more than ``memory_mb`` beyond the worker's size
==============  ==============================================================

The memory cap is an address-space limit (``RLIMIT_AS``) set around the call, so an
allocation past it fails inside the worker with ``MemoryError`` instead of taking
the machine's memory. Workers run single-threaded numerics (parallelism comes from
running several workers) and write no core dumps.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger(__name__)

try:
    import resource
except ImportError:  # pragma: no cover - not on Windows
    resource = None  # type: ignore[assignment]


#: Environment variable that hands the initializer to the forkserver (see core.preload).
INITIALIZER_ENV = "AUDIO_SAMPLER_SANDBOX_INITIALIZER"


class Outcome(StrEnum):
    OK = "ok"
    ERROR = "error"
    NOT_APPLICABLE = "not_applicable"
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    OOM = "oom"
    #: Not run because a plugin it requires did not succeed (set by the engine).
    SKIPPED = "skipped"


@dataclass(frozen=True)
class TaskResult:
    """The outcome of one sandboxed call. elapsed_s: wall-clock seconds."""

    status: Outcome
    value: Any = None
    error: str | None = None
    error_type: str | None = None
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is Outcome.OK


class _Worker:
    """One worker process and the pipe to it; started lazily, replaced after a failure."""

    def __init__(self, ctx: mp.context.BaseContext, slot: int, initializer: tuple[str, dict] | None):
        self._ctx = ctx
        self.slot = slot
        self._initializer = initializer
        self.process: mp.process.BaseProcess | None = None
        self.conn: Connection | None = None
        self.starts = 0

    def ensure_started(self) -> None:
        if self.process is not None and self.process.is_alive():
            return
        self.discard()
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_worker_main, args=(child, self._initializer), name=f"audio-sampler-worker-{self.slot}", daemon=True
        )
        try:
            process.start()
        except BaseException:  # no process to keep (a never-started one cannot even be joined)
            parent.close()
            raise
        finally:
            child.close()
        self.process, self.conn = process, parent
        self.starts += 1

    def kill(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.kill()
        self.discard()

    def death(self) -> str:
        """Describe how the process ended (after the pipe broke), then forget it."""
        assert self.process is not None
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is None:  # its pipe broke but it lives on: end it
            self.kill()
            return "the worker stopped answering"
        self.discard()
        if code < 0:
            name = signal.Signals(-code).name
            if -code == signal.SIGKILL:
                return f"the worker was killed by {name} (the system may have run out of memory)"
            return f"the worker died from signal {name}"
        return f"the worker exited with code {code}"

    def discard(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.process is not None:
            self.process.join(timeout=5)
            if self.process.exitcode is not None:
                self.process.close()
            self.process = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.is_alive() else None

    def stop(self) -> None:
        if self.conn is not None and self.process is not None and self.process.is_alive():
            try:
                self.conn.send(None)
                self.process.join(timeout=2)
            except (OSError, ValueError):
                pass
        self.kill()


class Sandbox:
    """A fixed set of worker processes shared by any number of calling threads.

    workers: number of processes (each call takes one for its duration).
    preload: modules the worker template imports once, so a replaced worker starts fast.
    initializer: ``("module:function", kwargs)`` each worker runs once when it starts
    (a failure there is logged, not fatal).
    """

    def __init__(
        self, workers: int, preload: tuple[str, ...] = (), initializer: tuple[str, dict] | None = None
    ):
        if workers < 1:
            raise ValueError("a sandbox needs at least one worker")
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        self._ctx = mp.get_context(method)
        if method == "forkserver":
            # The forkserver is one per process, started by the first call: it imports
            # these modules and runs the initializer once, and every worker forks from it.
            if initializer is not None:
                os.environ[INITIALIZER_ENV] = json.dumps(initializer)
            self._ctx.set_forkserver_preload(["core.sandbox", *preload, "core.preload"])
        self._workers = [_Worker(self._ctx, i, initializer) for i in range(workers)]
        self._idle: queue.Queue[_Worker] = queue.Queue()
        for worker in self._workers:
            self._idle.put(worker)
        self._lock = threading.Lock()
        self._closed = False
        self.calls = 0
        self.failures: dict[str, int] = {}

    @property
    def size(self) -> int:
        return len(self._workers)

    @property
    def closed(self) -> bool:
        return self._closed

    def call(self, ref: str, kwargs: dict[str, Any], *, timeout_s: float, memory_mb: int | None = None) -> TaskResult:
        """Run ``ref(**kwargs)`` in a worker; see the module docstring for outcomes."""
        worker = self._idle.get()
        started = time.perf_counter()
        try:
            if self._closed:
                return TaskResult(Outcome.ERROR, error="the engine is shutting down", error_type="Cancelled")
            result = self._run(worker, ref, kwargs, timeout_s, memory_mb)
        finally:
            self._idle.put(worker)
        result = TaskResult(result.status, result.value, result.error, result.error_type,
                            time.perf_counter() - started)
        with self._lock:
            self.calls += 1
            if not result.ok and result.status is not Outcome.NOT_APPLICABLE:
                self.failures[result.status.value] = self.failures.get(result.status.value, 0) + 1
        return result

    def _run(self, worker: _Worker, ref: str, kwargs: dict, timeout_s: float, memory_mb: int | None) -> TaskResult:
        try:
            worker.ensure_started()
        except Exception as exc:  # the forkserver itself failed: report, don't raise
            log.exception("could not start a worker")
            worker.kill()
            return TaskResult(Outcome.CRASHED, error=f"could not start a worker: {exc}", error_type="WorkerStart")
        try:
            assert worker.conn is not None
            worker.conn.send((ref, kwargs, memory_mb))
            if not worker.conn.poll(timeout_s):
                worker.kill()
                return TaskResult(Outcome.TIMEOUT, error=f"did not finish within {timeout_s:.3g} s",
                                  error_type="Timeout")
            status, error_type, error, value = worker.conn.recv()
        except (EOFError, OSError):
            death = worker.death()
            if self._closed:
                return TaskResult(Outcome.ERROR, error="the engine shut down during the call", error_type="Cancelled")
            return TaskResult(Outcome.CRASHED, error=death, error_type="WorkerDied")
        outcome = Outcome(status)
        if outcome is Outcome.OOM:
            worker.kill()  # a worker that hit its cap may hold fragmented memory: start afresh
        return TaskResult(outcome, value=value, error=error, error_type=error_type)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "workers": self.size,
                "alive": sum(1 for w in self._workers if w.pid is not None),
                "idle": self._idle.qsize(),
                "starts": sum(w.starts for w in self._workers),
                "calls": self.calls,
                "failures": dict(self.failures),
            }

    def close(self) -> None:
        """Stop idle workers and kill busy ones; later calls return a ``Cancelled`` error."""
        self._closed = True
        stopped = []
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            worker.stop()
            stopped.append(worker)
        for worker in self._workers:
            if worker not in stopped and worker.process is not None:
                worker.process.kill()  # its caller sees the pipe break and gets its worker back
        for worker in stopped:
            self._idle.put(worker)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- inside the worker


def prepare_process(initializer: tuple[str, dict] | None) -> None:
    """Make this process fit to run tasks: no core dumps, single-threaded numerics,
    then the initializer (whose failure is logged, not fatal)."""
    if resource is not None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    from threadpoolctl import threadpool_limits

    from core.plugin import load_ref

    threadpool_limits(1)
    if initializer is not None:
        try:
            load_ref(initializer[0])(**initializer[1])
        except Exception:
            log.exception("worker initializer %s failed", initializer[0])


def _worker_main(conn: Connection, initializer: tuple[str, dict] | None) -> None:
    """Prepare, then serve calls until the parent sends ``None`` or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    prepare_process(initializer)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        reply = _execute(*message)
        try:
            conn.send(reply)
        except Exception as exc:  # an unpicklable result must not kill the worker
            conn.send(("error", "ResultError", f"the result could not be returned: {exc}", None))


def _execute(ref: str, kwargs: dict, memory_mb: int | None) -> tuple[str, str | None, str | None, Any]:
    from core.plugin import NotApplicable, load_ref

    try:
        function = load_ref(ref)
        with memory_cap(memory_mb):
            value = function(**kwargs)
        return ("ok", None, None, value)
    except MemoryError:
        return ("oom", "MemoryError", f"ran out of its memory cap of {memory_mb} MiB", None)
    except NotApplicable as exc:
        return ("not_applicable", "NotApplicable", str(exc), None)
    except Exception as exc:
        log.debug("task %s failed", ref, exc_info=True)
        return ("error", type(exc).__name__, describe_exception(exc), None)


def describe_exception(exc: BaseException) -> str:
    """``Type: message``, or the message alone when it is one of our typed errors."""
    message = str(exc).strip()
    if getattr(exc, "code", None) and message:
        return message
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


@contextmanager
def memory_cap(memory_mb: int | None):
    """Limit this process's address space to its current size + ``memory_mb`` MiB."""
    if memory_mb is None or resource is None or not sys.platform.startswith("linux"):
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space_bytes() + memory_mb * 2**20
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _address_space_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
