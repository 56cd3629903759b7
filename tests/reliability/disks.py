"""Disks that fail on purpose: a small tmpfs that fills up, a folder mounted read-only.

Both need to mount (root, as ``make test`` runs in its container); elsewhere the tests
that use them are skipped with the reason.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
    if done.returncode:
        pytest.skip(f"cannot mount here ({done.stderr.strip() or done.returncode}): needs root")


def _unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30, check=True)


@contextmanager
def small_disk(folder: Path, size_kib: int) -> Iterator[Path]:
    """``folder`` (created) as a tmpfs of ``size_kib``; unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("a small filesystem needs root to mount")
    folder.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(folder))
    try:
        yield folder
    finally:
        _unmount(folder)


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` mounted read-only over itself (root ignores file permissions)."""
    if os.geteuid() != 0:
        pytest.skip("a read-only mount needs root")
    _mount("--bind", str(folder), str(folder))
    try:
        _mount("-o", "remount,ro,bind", str(folder))
        yield folder
    finally:
        _unmount(folder)


def fill(folder: Path, leave_bytes: int = 0) -> Path:
    """Fill the filesystem of ``folder`` until at most ``leave_bytes`` are free; returns the filler."""
    filler = folder / "filler"
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with open(filler, "wb", buffering=0) as handle:
        try:
            handle.write(bytes(max(0, free - leave_bytes)))
            while leave_bytes == 0:
                handle.write(bytes(4096))
        except OSError:  # full
            pass
    return filler
