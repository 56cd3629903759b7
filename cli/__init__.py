"""The library commands of ``main.py``: ``tag``, ``export`` and ``pack``. Each module adds
its sub-commands; every command opens the library through the ``library`` callable
main.py passes (the configured database, migrated) and returns an exit status."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

#: main.py's ``_library``: () → (Database, VectorIndexes).
Library = Callable[[], tuple[Any, Any]]


def add_library_commands(commands: argparse._SubParsersAction, library: Library) -> None:
    """Add ``tag`` (and the other library commands) to main.py's sub-command parsers."""
    from cli import tags

    tags.add_commands(commands, library)
