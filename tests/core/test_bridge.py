"""The bridge to the experimental (Essentia) environment: protocol, failures, restarts."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core.bridge import CHECKING, Bridge, BridgeError, RemoteError, environment_status
from core.config import get_settings
from core.wire import read_message, write_message

SETTINGS = get_settings()
SERVE = Path(__file__).resolve().parents[2] / "envs" / "experimental"  # serve.py: the workers' loop
needs_env = pytest.mark.skipif(not SETTINGS.experimental_python.exists(),
                               reason="the experimental environment is built by `make test`")


def test_messages_round_trip_with_a_payload() -> None:
    stream = io.BytesIO()
    audio = np.arange(5, dtype="<f4")
    write_message(stream, {"op": "key", "params": {"x": 1}}, audio.tobytes())
    write_message(stream, {"ok": True})
    stream.seek(0)
    header, payload = read_message(stream)
    assert header == {"op": "key", "params": {"x": 1}, "payload_bytes": 20}
    np.testing.assert_array_equal(np.frombuffer(payload, "<f4"), audio)
    assert read_message(stream) == ({"ok": True, "payload_bytes": 0}, b"")
    with pytest.raises(EOFError):
        read_message(stream)


def test_an_absurd_header_is_refused() -> None:
    with pytest.raises(ValueError, match="too large"):
        read_message(io.BytesIO((1 << 30).to_bytes(4, "big") + b"{}"))


@pytest.fixture
def bridge() -> Bridge:
    instance = Bridge(SETTINGS.experimental_python, SETTINGS.experimental_worker)
    yield instance
    instance.close()


@needs_env
def test_calls_and_remote_errors(bridge: Bridge) -> None:
    assert bridge.call("ping", {}) == {"pong": True}
    assert bridge.versions["essentia"] and bridge.starts == 1
    with pytest.raises(RemoteError, match="unknown op"):
        bridge.call("nope", {})
    with pytest.raises(RemoteError, match="sample_rate"):
        bridge.call("hpcp", {}, np.zeros(100, np.float32))
    with pytest.raises(RemoteError, match="multiple of 4096"):
        bridge.call("hpcp", {"sample_rate": 22050, "block_samples": 1000}, np.zeros(100, np.float32))
    with pytest.raises(RemoteError, match="12 values"):
        bridge.call("key", {"pcps": [[1.0, 0.5]]})
    assert bridge.call("ping", {}) == {"pong": True} and bridge.starts == 1  # the same child all along
    assert bridge.status()["running"]


@needs_env
def test_a_call_past_its_timeout_kills_the_child_and_the_next_call_restarts_it(bridge: Bridge) -> None:
    bridge.call("ping", {})
    started = time.monotonic()
    with pytest.raises(BridgeError, match="did not answer within 0.5 s"):
        bridge.call("ping", {"delay_s": 30}, timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert bridge.call("ping", {}) == {"pong": True} and bridge.starts == 2


@needs_env
def test_a_killed_child_is_an_error_then_a_restart(bridge: Bridge) -> None:
    bridge.call("ping", {})
    pid = bridge._process.pid
    killer = threading.Timer(0.3, os.kill, (pid, signal.SIGKILL))
    killer.start()
    with pytest.raises(BridgeError, match="died during ping"):
        bridge.call("ping", {"delay_s": 10})
    assert bridge.call("ping", {}) == {"pong": True} and bridge._process.pid != pid


def test_a_missing_environment_fails_fast_and_is_not_retried_at_once(tmp_path: Path) -> None:
    missing = Bridge(tmp_path / "no-python", SETTINGS.experimental_worker, retry_after_s=60)
    with pytest.raises(BridgeError, match="does not exist"):
        missing.call("ping", {})
    with pytest.raises(BridgeError, match="unavailable"):
        missing.call("ping", {})
    assert missing.status()["present"] is False and missing.status()["last_error"]
    status = environment_status(tmp_path / "no-python", SETTINGS.experimental_worker)
    assert status["available"] is False and "does not exist" in status["reason"]


def test_a_worker_that_dies_at_start_is_unavailable(tmp_path: Path) -> None:
    script = tmp_path / "broken_worker.py"
    script.write_text("import sys; sys.exit(3)\n")
    broken = Bridge(Path(sys.executable), script, retry_after_s=0)
    with pytest.raises(BridgeError, match="failed to start"):
        broken.call("ping", {})
    silent = tmp_path / "silent_worker.py"
    silent.write_text("import time; time.sleep(60)\n")
    slow = Bridge(Path(sys.executable), silent, start_timeout_s=0.5)
    with pytest.raises(BridgeError, match="did not start within 0.5 s"):
        slow.call("ping", {})
    slow.close()


def test_environment_status_without_waiting_answers_at_once_then_what_it_found(tmp_path: Path) -> None:
    script = tmp_path / "slow_worker.py"  # a worker that takes a second to start, as TensorFlow's takes seconds
    script.write_text(f"import sys, time\nsys.path.insert(0, {str(SERVE)!r})\nimport serve\n"
                      "out = serve.protocol_stream()\ntime.sleep(1)\nserve.serve(out, {}, {'fake': '1'})\n")
    started = time.monotonic()
    first = environment_status(Path(sys.executable), script, wait=False)
    assert time.monotonic() - started < 0.5
    assert first["available"] is None and first["present"] and first["reason"] == CHECKING
    done = environment_status(Path(sys.executable), script)  # waits for the same check
    assert done["available"] is True and done["versions"] == {"fake": "1"} and done["reason"] is None
    assert environment_status(Path(sys.executable), script, wait=False) == done


@needs_env
def test_environment_status_pings_the_real_environment() -> None:
    status = environment_status(SETTINGS.experimental_python, SETTINGS.experimental_worker)
    assert status["available"] is True and status["reason"] is None and status["versions"]["numpy"]
