"""Excerpts of audio files rendered in the sandbox and kept on disk for repeated requests
(a player seeking with HTTP Range asks for the same excerpt many times).

Each excerpt is named by a hash of the file's path, size and modification time and the
stretch and format asked for, so a changed file is rendered again. The folder holds at
most ``max_mb``; the least recently used excerpts go first.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from core.excerpt import ExcerptError
from core.sandbox import Outcome, Sandbox

#: Wall-clock limit of one rendering, seconds, and its memory cap, MiB.
RENDER_TIMEOUT_S = 300.0
RENDER_MEMORY_MB = 1024


class ExcerptFailed(Exception):
    """The excerpt could not be rendered. ``bad_request``: the stretch asked for is not in
    the file; otherwise the file itself could not be decoded."""

    def __init__(self, message: str, bad_request: bool = False):
        super().__init__(message)
        self.bad_request = bad_request


class ExcerptCache:
    def __init__(self, sandbox: Sandbox, folder: Path, max_mb: int, max_duration_s: float):
        self.sandbox = sandbox
        self.folder = folder
        self.max_bytes = max_mb * 1024 * 1024
        self.max_duration_s = max_duration_s

    def get(self, path: Path, start_s: float = 0.0, end_s: float | None = None, fmt: str = "wav") -> Path:
        """The excerpt ``[start_s, end_s)`` of ``path`` as a ``fmt`` file, rendered if needed.

        Raises: ExcerptFailed (bad stretch or format, undecodable file), OSError (``path`` unreadable).
        """
        stat = path.stat()
        key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}|{start_s:.6f}|{end_s}|{fmt}"
        target = self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.{fmt}"
        if target.is_file():
            os.utime(target)
            return target
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{uuid.uuid4().hex}.part")  # requests rendering at once write apart
        result = self.sandbox.call(
            "core.tasks:render_excerpt",
            {"path": str(path), "out_path": str(partial), "start_s": start_s, "end_s": end_s, "fmt": fmt,
             "max_duration_s": self.max_duration_s},
            timeout_s=RENDER_TIMEOUT_S, memory_mb=RENDER_MEMORY_MB)
        if not result.ok:
            partial.unlink(missing_ok=True)
            if result.status is Outcome.ERROR and result.error_type == ExcerptError.__name__:
                raise ExcerptFailed(result.error or "no such stretch of audio", bad_request=True)
            raise ExcerptFailed(f"the audio could not be decoded: {result.error or result.status.value}")
        os.replace(partial, target)
        self._evict(keep=target)
        return target

    def _evict(self, keep: Path) -> None:
        """Delete the least recently used excerpts while the folder holds more than allowed."""
        files = []
        for entry in os.scandir(self.folder):
            try:
                files.append((entry.stat().st_mtime, entry.stat().st_size, Path(entry.path)))
            except FileNotFoundError:
                continue
        total = sum(size for _, size, _ in files)
        for _, size, file in sorted(files):
            if total <= self.max_bytes:
                break
            if file != keep:
                file.unlink(missing_ok=True)
                total -= size
