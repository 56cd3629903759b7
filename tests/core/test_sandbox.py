"""The sandbox turns every way a call can fail into an outcome, and keeps serving."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from core.sandbox import Outcome, Sandbox, describe_exception, memory_cap

T = "tests.fault_plugins:"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(2, preload=("numpy",)) as box:
        yield box


def test_a_call_returns_its_value(sandbox: Sandbox) -> None:
    result = sandbox.call(T + "add", {"a": 2, "b": 3}, timeout_s=30)
    assert result.ok and result.value == 5 and result.elapsed_s > 0


def test_an_exception_is_an_error_with_its_message(sandbox: Sandbox) -> None:
    result = sandbox.call(T + "fail", {"message": "bad input"}, timeout_s=30)
    assert result.status is Outcome.ERROR
    assert (result.error_type, result.error) == ("ValueError", "ValueError: bad input")


def test_not_applicable_is_its_own_outcome(sandbox: Sandbox) -> None:
    result = sandbox.call(T + "not_applicable", {}, timeout_s=30)
    assert (result.status, result.error) == (Outcome.NOT_APPLICABLE, "too short to judge")


def test_an_unknown_function_is_an_error(sandbox: Sandbox) -> None:
    result = sandbox.call(T + "no_such_function", {}, timeout_s=30)
    assert result.status is Outcome.ERROR and result.error_type == "AttributeError"


def test_an_unpicklable_result_is_an_error(sandbox: Sandbox) -> None:
    result = sandbox.call(T + "unpicklable", {}, timeout_s=30)
    assert result.status is Outcome.ERROR and "could not be returned" in result.error


@pytest.mark.parametrize(
    ("function", "outcome", "words"),
    [
        ("abort", Outcome.CRASHED, "SIGABRT"),
        ("segfault", Outcome.CRASHED, "SIGSEGV"),
        ("exit_quietly", Outcome.CRASHED, "exited with code 3"),
    ],
)
def test_a_dying_worker_is_recorded_and_replaced(sandbox: Sandbox, function: str, outcome: Outcome, words: str) -> None:
    before = sandbox.status()["starts"]
    result = sandbox.call(T + function, {}, timeout_s=30)
    assert result.status is outcome and words in result.error
    for _ in range(sandbox.size):  # one of these lands on the replacement
        assert sandbox.call(T + "add", {"a": 1, "b": 1}, timeout_s=30).value == 2
    assert sandbox.status()["starts"] > before


def test_a_hanging_call_times_out_and_the_worker_is_replaced(sandbox: Sandbox) -> None:
    pid = sandbox.call(T + "worker_pid", {}, timeout_s=30).value
    pids = {pid}
    result = sandbox.call(T + "sleep_forever", {}, timeout_s=1.0)
    assert result.status is Outcome.TIMEOUT and "within 1 s" in result.error
    assert 1.0 <= result.elapsed_s < 10
    for _ in range(4):
        pids.add(sandbox.call(T + "worker_pid", {}, timeout_s=30).value)
    assert len(pids) >= 2


def test_allocating_past_the_cap_is_oom_not_a_dead_machine(sandbox: Sandbox) -> None:
    result = sandbox.call(T + "allocate", {"gib": 10}, timeout_s=60, memory_mb=400)
    assert result.status is Outcome.OOM and "400 MiB" in result.error
    small = sandbox.call(T + "allocate", {"gib": 0.1}, timeout_s=60, memory_mb=400)
    assert small.ok


def test_calls_from_many_threads_share_the_workers(sandbox: Sandbox) -> None:
    results: list[int] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        value = sandbox.call(T + "add", {"a": i, "b": 1}, timeout_s=30).value
        with lock:
            results.append(value)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == list(range(1, 13))
    status = sandbox.status()
    assert status["workers"] == 2 and status["idle"] == 2 and status["calls"] >= 12


def test_closing_kills_a_busy_worker_and_refuses_new_calls() -> None:
    box = Sandbox(1)
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(box.call(T + "sleep_forever", {}, timeout_s=60)))
    thread.start()
    while box.status()["idle"]:
        threading.Event().wait(0.05)
    threading.Event().wait(0.5)
    box.close()
    thread.join(timeout=10)
    assert outcome[0].status is Outcome.ERROR and outcome[0].error_type == "Cancelled"
    assert box.call(T + "add", {"a": 1, "b": 2}, timeout_s=5).error_type == "Cancelled"
    assert box.closed


def test_initializer_runs_in_each_worker_and_its_failure_is_not_fatal() -> None:
    with Sandbox(1, initializer=(T + "fail", {"message": "initializer broke"})) as box:
        assert box.call(T + "add", {"a": 1, "b": 2}, timeout_s=30).value == 3


def test_a_sandbox_needs_a_worker() -> None:
    with pytest.raises(ValueError):
        Sandbox(0)


def test_memory_cap_is_lifted_after_the_call() -> None:
    import resource

    before = resource.getrlimit(resource.RLIMIT_AS)
    with memory_cap(100):
        assert resource.getrlimit(resource.RLIMIT_AS)[0] != before[0]
    assert resource.getrlimit(resource.RLIMIT_AS) == before
    with memory_cap(None):
        assert resource.getrlimit(resource.RLIMIT_AS) == before


def test_describe_exception() -> None:
    from core.audio import EmptyAudio

    assert describe_exception(EmptyAudio("the file is empty")) == "the file is empty"
    assert describe_exception(KeyError()) == "KeyError"


def test_a_worker_that_cannot_start_is_a_crash_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    from core import sandbox as sandbox_module

    def refuse(self) -> None:
        raise RuntimeError("forkserver is gone")

    with Sandbox(1) as box:
        monkeypatch.setattr(sandbox_module._Worker, "ensure_started", refuse)
        result = box.call(T + "add", {"a": 1, "b": 2}, timeout_s=5)
        assert result.status is Outcome.CRASHED and "forkserver is gone" in result.error
        monkeypatch.undo()
        assert box.call(T + "add", {"a": 1, "b": 2}, timeout_s=30).value == 3


def test_a_process_that_fails_to_start_is_a_crash_and_the_next_call_starts_afresh(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """fork() itself failing (EAGAIN: too many processes) leaves no half-made worker behind."""
    with Sandbox(1) as box:
        process_class = type(box._ctx.Process())

        def refuse(self) -> None:
            raise OSError(11, "Resource temporarily unavailable")

        monkeypatch.setattr(process_class, "start", refuse)
        result = box.call(T + "add", {"a": 1, "b": 2}, timeout_s=5)
        assert result.status is Outcome.CRASHED and "Resource temporarily unavailable" in result.error
        monkeypatch.undo()
        assert box.call(T + "add", {"a": 1, "b": 2}, timeout_s=30).value == 3
