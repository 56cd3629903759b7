"""The library commands of ``main.py``: ``tag``, ``export``, ``pack`` and ``tagger``. Each module adds
its sub-commands; every command opens the library through main.py's hooks and returns
an exit status."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Hooks:
    """What main.py lends the library commands.

    library: () → (Database, VectorIndexes), the configured database migrated.
    search_options: adds the search filters (--tag, --bpm, --key …) to a parser.
    region_query: parsed arguments → database.queries.RegionQuery (ValueError for a bad key).
    """

    library: Callable[[], tuple[Any, Any]]
    search_options: Callable[[argparse.ArgumentParser], None]
    region_query: Callable[[argparse.Namespace], Any]


def add_library_commands(commands: argparse._SubParsersAction, library: Callable, search_options: Callable,
                         region_query: Callable) -> None:
    """Add ``tag``, ``export``, ``pack`` and ``tagger`` to main.py's sub-command parsers."""
    from cli import export, pack, tagger, tags

    hooks = Hooks(library, search_options, region_query)
    tags.add_commands(commands, hooks)
    export.add_commands(commands, hooks)
    pack.add_commands(commands, hooks)
    tagger.add_commands(commands, hooks)
