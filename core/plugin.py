"""The plugin contract, discovery and ordering.

A plugin is a class with declarative metadata and one pure method::

    class TempoMeter(Plugin):
        name = "tempo_meter"; version = "1.0.0"
        requires = ("features",)
        timeout_s = 120; memory_mb = 1500
        def analyze(self, audio, sr, ctx) -> dict: ...

``analyze`` receives one region (``audio``: float32 [n_samples] at ``sr`` = 22 050 Hz:
an array, or for a region longer than ``core.pcm.IN_MEMORY_SAMPLES`` a
:class:`core.pcm.PcmFile` window that reads what is sliced from it, so a plugin that
slices or uses :func:`core.pcm.chunks` stays flat in memory however long the region)
and returns a JSON-able dict; it runs in a sandboxed worker (:mod:`core.sandbox`).
It may raise :class:`NotApplicable` when the region is not something it can judge
(too short for a tempo, say); any other exception is recorded as an error.

Plugins are found in the ``plugins`` package and in the ``audio_sampler.plugins``
entry-point group, so a third party can add one without editing the engine.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, ClassVar

import numpy as np

from core.config import DEFAULT_PLUGIN_ORDER

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "audio_sampler.plugins"


class PluginError(Exception):
    """A plugin set that cannot run: unknown name, missing requirement, cycle."""


class NotApplicable(Exception):  # noqa: N818 - an outcome, not a failure
    """Raised by ``analyze`` when the region is outside what the plugin can judge."""


@dataclass(frozen=True)
class Context:
    """What a plugin knows besides the audio of its region.

    results: results of the plugins named in ``requires``, by plugin name.
    start_s: the region's start in its file, seconds.
    """

    file_path: str
    region_index: int
    start_s: float
    results: dict[str, dict[str, Any]] = field(default_factory=dict)


class Plugin:
    """Base class: subclasses set the metadata and implement :meth:`analyze`."""

    name: ClassVar[str]
    version: ClassVar[str]
    #: Names of plugins whose results this one reads from its context.
    requires: ClassVar[tuple[str, ...]] = ()
    #: Shorter regions are ``not_applicable`` without running the plugin, seconds.
    min_duration_s: ClassVar[float] = 0.0
    #: Wall-clock limit for one minute of audio, seconds (scaled up for longer regions).
    timeout_s: ClassVar[float] = 120.0
    #: Memory cap of the worker beyond its start-up size and the region's audio, MiB.
    memory_mb: ClassVar[int] = 1500
    #: One line for ``GET /plugins`` and ``main.py plugins``.
    description: ClassVar[str] = ""

    def analyze(self, audio: np.ndarray, sr: int, ctx: Context) -> dict[str, Any]:
        raise NotImplementedError

    def warm_up(self, sr: int) -> None:
        """Called once when a worker starts: compile or load what ``analyze`` needs, so
        the first region does not pay for it (and JIT caches are written safely)."""

    @classmethod
    def summarize(cls, results: list[dict[str, Any]], durations_s: list[float]) -> dict[str, Any]:
        """File-level summary from the ``ok`` results of all regions (and their lengths)."""
        return {}

    @classmethod
    def ref(cls) -> str:
        """Import reference ``module:Class`` by which a worker loads this plugin."""
        return f"{cls.__module__}:{cls.__qualname__}"

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {
            "name": cls.name,
            "version": cls.version,
            "requires": list(cls.requires),
            "timeout_s": cls.timeout_s,
            "memory_mb": cls.memory_mb,
            "min_duration_s": cls.min_duration_s,
            "description": cls.description,
        }


def load_ref(ref: str) -> Any:
    """Import ``module:attribute`` (attribute may be dotted)."""
    module_name, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def discover() -> dict[str, type[Plugin]]:
    """Every plugin class installed: the ``plugins`` package, then entry points.

    A module that fails to import is logged and left out; it never stops the others.
    """
    found: dict[str, type[Plugin]] = {}
    import plugins as package

    for info in pkgutil.iter_modules(package.__path__, prefix="plugins."):
        try:
            module = importlib.import_module(info.name)
        except Exception:  # a broken plugin module must not take the engine down
            log.exception("plugin module %s failed to import", info.name)
            continue
        for obj in vars(module).values():
            if _is_plugin(obj) and obj.__module__ == module.__name__:
                found.setdefault(obj.name, obj)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = entry.load()
        except Exception:
            log.exception("plugin entry point %s failed to load", entry.name)
            continue
        if _is_plugin(obj):
            found.setdefault(obj.name, obj)
        else:
            log.error("entry point %s is not a Plugin subclass", entry.name)
    return found


def resolve(available: dict[str, type[Plugin]], names: list[str] | None = None) -> list[type[Plugin]]:
    """The plugins to run, in an order where each comes after what it requires.

    names: plugins asked for (their requirements are added); None or empty = all
    available, the built-in ones in DESIGN order, then the others by name.
    Raises PluginError for an unknown name, a missing requirement or a cycle.
    """
    wanted = list(names) if names else sorted(available, key=_default_rank)
    unknown = [n for n in wanted if n not in available]
    if unknown:
        raise PluginError(f"unknown plugin(s): {', '.join(unknown)}; installed: {', '.join(sorted(available))}")
    ordered: list[type[Plugin]] = []
    visiting: set[str] = set()

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if any(p.name == name for p in ordered):
            return
        if name in visiting:
            raise PluginError(f"plugin requirements form a cycle: {' -> '.join((*chain, name))}")
        if name not in available:
            raise PluginError(f"plugin {chain[-1]} requires {name}, which is not installed")
        visiting.add(name)
        for dep in available[name].requires:
            visit(dep, (*chain, name))
        visiting.discard(name)
        ordered.append(available[name])

    for name in wanted:
        visit(name, ())
    return ordered


def _default_rank(name: str) -> tuple[int, str]:
    return (DEFAULT_PLUGIN_ORDER.index(name) if name in DEFAULT_PLUGIN_ORDER else len(DEFAULT_PLUGIN_ORDER), name)


#: Longest plugin name and version the database stores.
MAX_NAME_LENGTH, MAX_VERSION_LENGTH = 64, 32


def _is_plugin(obj: Any) -> bool:
    """A Plugin subclass whose name and version the database can store (else it is left
    out, with the reason logged, before it could fail a file's write)."""
    if not (isinstance(obj, type) and issubclass(obj, Plugin) and obj is not Plugin and hasattr(obj, "name")):
        return False
    fits = isinstance(obj.name, str) and 0 < len(obj.name) <= MAX_NAME_LENGTH \
        and isinstance(obj.version, str) and 0 < len(obj.version) <= MAX_VERSION_LENGTH
    if not fits:
        log.error("plugin %r left out: its name must be 1-%d characters and its version 1-%d",
                  obj.name, MAX_NAME_LENGTH, MAX_VERSION_LENGTH)
    return fits
