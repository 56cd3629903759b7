"""Fixtures of the fault-injection tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import Settings
from tests.conftest import make_settings
from tests.reliability.disks import small_disk


@pytest.fixture
def full_database_disk(tmp_path: Path) -> Iterator[Settings]:
    """Settings whose database lies on a 2 MiB disk (decoded audio elsewhere)."""
    settings = make_settings(tmp_path / "data")
    with small_disk(settings.data_dir, 2048), small_disk(settings.tmp_dir, 64 * 1024):
        yield settings
