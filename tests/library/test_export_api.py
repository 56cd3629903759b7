"""POST /api/export: a ZIP of samples and manifests, over regions of real generated files."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from api.app import create_app
from tests import audio_factory as af
from tests.conftest import make_settings
from tests.library.helpers import add_file, classified


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("export_api") / "data", plugins=["features"], workers=1)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_export_answers_a_zip_with_samples_and_manifests(client: TestClient, tmp_path: Path) -> None:
    source = af.write(tmp_path / "hits.wav", np.concatenate([af.tone(200.0, 1.0, amp=0.2), af.noise(1.0, amp=0.1)]))
    ids = add_file(client.app.state.engine.database, str(source), [classified("kick"), classified("snare")])
    response = client.post("/api/export", json={"region_ids": ids, "normalise": "peak", "peak_dbfs": -3.0,
                                                 "format": "flac", "template": "{tag}_{index}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip" and response.headers["x-failed"] == "0"
    bundle = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(bundle.namelist()) == ["export/kick_001.flac", "export/manifest.csv", "export/manifest.json",
                                         "export/snare_002.flac"]
    audio, _ = sf.read(io.BytesIO(bundle.read("export/kick_001.flac")))
    assert len(audio) == 0.5 * af.SR and 20 * np.log10(np.abs(audio).max()) == pytest.approx(-3.0, abs=0.01)
    manifest = json.loads(bundle.read("export/manifest.json"))
    assert [i["tags"] for i in manifest["items"]] == [["kick"], ["snare"]]
    assert not list(client.app.state.engine.settings.tmp_dir.glob("export-*"))  # the scratch folder is gone


def test_export_errors(client: TestClient) -> None:
    missing = client.post("/api/export", json={"region_ids": [999_999]})
    assert missing.status_code == 400 and missing.json() == {"error": "no region with id 999999"}
    assert client.post("/api/export", json={"region_ids": [1], "target_key": "H minor"}).status_code == 400
    assert client.post("/api/export", json={"region_ids": []}).status_code == 422
    assert client.post("/api/export", json={"region_ids": [1], "peak_dbfs": 3}).status_code == 422
