"""Dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from core.config import Settings
from core.engine import AudioSamplerEngine


def get_engine(request: Request) -> AudioSamplerEngine:
    return request.app.state.engine


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


EngineDep = Annotated[AudioSamplerEngine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
