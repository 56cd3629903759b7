"""Plugin discovery (package and entry points) and ordering."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from core import plugin as plugin_module
from core.plugin import Plugin, PluginError, discover, load_ref, resolve
from plugins.features import Features
from tests import fault_plugins as bad


def test_builtin_plugins_are_discovered() -> None:
    found = discover()
    assert found["features"] is Features
    assert Features.ref() == "plugins.features:Features"
    assert load_ref(Features.ref()) is Features


def test_entry_point_plugins_are_discovered(monkeypatch: pytest.MonkeyPatch) -> None:
    points = [
        EntryPoint("short_only", "tests.fault_plugins:ShortOnly", plugin_module.ENTRY_POINT_GROUP),
        EntryPoint("broken", "tests.no_such_module:Nothing", plugin_module.ENTRY_POINT_GROUP),
        EntryPoint("not_a_plugin", "tests.fault_plugins:add", plugin_module.ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(plugin_module, "entry_points", lambda group: points if group == points[0].group else [])
    found = discover()
    assert found["short_only"] is bad.ShortOnly and "features" in found
    assert "broken" not in found and "not_a_plugin" not in found


class LongVersion(Plugin):
    name = "long_version"
    version = "1.0.0+" + "build" * 10

    def analyze(self, audio, sr, ctx):
        return {}


def test_a_plugin_whose_name_or_version_the_database_cannot_store_is_left_out(monkeypatch, caplog) -> None:
    points = [EntryPoint("long_version", f"{__name__}:LongVersion", plugin_module.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(plugin_module, "entry_points", lambda group: points if group == points[0].group else [])
    assert "long_version" not in discover()
    assert "its version 1-32" in caplog.text


def test_resolve_orders_by_design_then_requirements() -> None:
    available = {p.name: p for p in (bad.NeedsFeatures, Features, bad.Raises, bad.NeedsRaises)}
    names = [p.name for p in resolve(available)]
    assert names[0] == "features"
    assert names.index("raises") < names.index("needs_raises")
    assert [p.name for p in resolve(available, ["needs_features"])] == ["features", "needs_features"]


def test_resolve_errors() -> None:
    with pytest.raises(PluginError, match="unknown plugin"):
        resolve({"features": Features}, ["tempo"])
    with pytest.raises(PluginError, match="requires features, which is not installed"):
        resolve({"needs_features": bad.NeedsFeatures}, ["needs_features"])

    class A(Plugin):
        name, version, requires = "a", "1", ("b",)

    class B(Plugin):
        name, version, requires = "b", "1", ("a",)

    with pytest.raises(PluginError, match="cycle: a -> b -> a"):
        resolve({"a": A, "b": B})


def test_describe_and_base_behaviour() -> None:
    info = Features.describe()
    assert info["name"] == "features" and info["requires"] == [] and info["memory_mb"] > 0
    with pytest.raises(NotImplementedError):
        Plugin().analyze(None, 0, None)  # type: ignore[arg-type]
    assert Plugin.summarize([], []) == {}
