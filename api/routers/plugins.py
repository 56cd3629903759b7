"""``GET /plugins``: the plugin chain in run order."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import EngineDep
from api.schemas import PluginInfo

router = APIRouter(tags=["plugins"])


@router.get("/plugins", response_model=list[PluginInfo])
def list_plugins(engine: EngineDep) -> list[PluginInfo]:
    return [PluginInfo(**plugin.describe()) for plugin in engine.plugins]
