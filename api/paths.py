"""Paths from clients: resolved, then confined to the allowed roots; upload names made safe."""

from __future__ import annotations

import re
from pathlib import Path

from core.config import user_path

_UNSAFE = re.compile(r"[^\w .()+,-]")


class PathNotAllowed(ValueError):
    """A client named a path outside the library roots and the upload folder."""


def confine(text: str, roots: list[Path]) -> Path:
    """The real path ``text`` names, if it lies inside one of ``roots``.

    Relative paths are taken from the first root. ``..``, symbolic links and absolute
    paths are resolved first, so none of them leads outside. Raises: PathNotAllowed.
    """
    if not text or "\x00" in text:
        raise PathNotAllowed("the path is empty or contains a NUL byte")
    path = user_path(text)
    resolved = (path if path.is_absolute() else roots[0] / path).resolve()
    if not any(resolved.is_relative_to(root.resolve()) for root in roots):
        raise PathNotAllowed(f"{text} is outside the library folders this server may read "
                             "(AUDIO_SAMPLER_LIBRARY_ROOTS)")
    return resolved


def safe_name(name: str) -> str:
    """A file name from a client reduced to its last part and harmless characters."""
    cleaned = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).lstrip(".- ")
    return cleaned[:200] or "upload"
