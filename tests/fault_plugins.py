"""Deliberately bad plugins and task functions, registered only in tests."""

from __future__ import annotations

import ctypes
import os
import time

import numpy as np

from core.plugin import Context, NotApplicable, Plugin


def add(a: int, b: int) -> int:
    return a + b


def worker_pid() -> int:
    return os.getpid()


def fail(message: str) -> None:
    raise ValueError(message)


def sleep_forever() -> None:
    time.sleep(3600)


def abort() -> None:
    os.abort()


def segfault() -> None:
    ctypes.string_at(0)


def exit_quietly() -> None:
    os._exit(3)


def allocate(gib: float) -> int:
    block = np.ones(int(gib * 2**30), dtype=np.uint8)
    return int(block[-1])


def unpicklable() -> object:
    return lambda: None


def not_applicable() -> None:
    raise NotApplicable("too short to judge")


class Raises(Plugin):
    name = "raises"
    version = "1.0.0"

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict:
        raise RuntimeError("this plugin always fails")


class Hangs(Plugin):
    name = "hangs"
    version = "1.0.0"
    timeout_s = 2.0

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict:
        sleep_forever()
        return {}


class Aborts(Plugin):
    name = "aborts"
    version = "1.0.0"

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict:
        abort()
        return {}


class Hog(Plugin):
    """Tries to allocate 10 GiB."""

    name = "hog"
    version = "1.0.0"
    memory_mb = 500

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict:
        return {"byte": allocate(10)}


class NeedsFeatures(Plugin):
    """Reads the features result from its context."""

    name = "needs_features"
    version = "1.0.0"
    requires = ("features",)

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict:
        return {"seen_duration_s": ctx.results["features"]["duration_s"], "samples": len(audio),
                "start_s": ctx.start_s, "values": np.arange(3), "nan": float("nan")}


class NeedsRaises(Plugin):
    name = "needs_raises"
    version = "1.0.0"
    requires = ("raises",)

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict:
        return {}


class LongOnly(Plugin):
    """Declares that it needs 1.1 s of audio."""

    name = "long_only"
    version = "1.0.0"
    min_duration_s = 1.1

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict:
        return {"n": len(audio)}


class ShortOnly(Plugin):
    """Judges only regions under 1.1 s."""

    name = "short_only"
    version = "1.0.0"

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict:
        if len(audio) > 1.1 * sr:
            raise NotApplicable("regions over 1.1 s are out of scope")
        return {"n": len(audio)}


class Sleeper(Plugin):
    """Writes its worker's pid to ``<file>.pid``, then sleeps: for tests that kill it from outside."""

    name = "sleeper"
    version = "1.0.0"
    timeout_s = 120.0

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict:
        with open(f"{ctx.file_path}.pid", "w") as handle:
            handle.write(str(os.getpid()))
        sleep_forever()
        return {}


class Naps(Plugin):
    """Sleeps half a second; says when it ran (wall clock, seconds)."""

    name = "naps"
    version = "1.0.0"

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict:
        started = time.time()
        time.sleep(0.5)
        return {"started": started, "ended": time.time()}


class NapsToo(Naps):
    name = "naps_too"


class NeedsNaps(Naps):
    name = "needs_naps"
    requires = ("naps",)
